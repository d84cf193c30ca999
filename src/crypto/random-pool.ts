import { randomBytes } from 'node:crypto';

// Random bytes for public values (GCM nonces, version ids), drawn from the
// CSPRNG 4 KiB at a time. Each randomBytes call has a fixed cost far above
// drawing a few bytes (about 7 µs for 12 bytes here, 13 µs for 4 KiB), and a
// secret write needs two draws. Every byte is handed out once; a used-up pool
// is replaced, never refilled in place, so earlier views stay valid. Not for
// keys: the pool's memory outlives the values cut from it.

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

function take(n: number): number {
  if (n > POOL_BYTES) throw new RangeError(`at most ${POOL_BYTES} pooled random bytes at a time`);
  if (offset + n > pool.length) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  offset += n;
  return offset - n;
}

/** n fresh random bytes, as a view of the pool (do not write to it). */
export function pooledRandomBytes(n: number): Buffer {
  const start = take(n);
  return pool.subarray(start, start + n);
}

/** n fresh random bytes as 2n hex digits. */
export function pooledRandomHex(n: number): string {
  const start = take(n);
  return pool.toString('hex', start, start + n);
}
