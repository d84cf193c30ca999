import { mkdir, open, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

// An optional JSON-lines copy of the trail for log shippers, rotated by size.
// Opened per batch so that a sink that comes back (disk remounted, folder
// recreated) is used again without a restart.

export interface FileSinkOptions {
  path: string;
  maxBytes: number;
  keep: number;
}

export function createFileSink(opts: FileSinkOptions) {
  async function rotate() {
    for (let i = opts.keep - 1; i >= 1; i--) await rename(`${opts.path}.${i}`, `${opts.path}.${i + 1}`).catch(() => {});
    await rename(opts.path, `${opts.path}.1`).catch(() => {});
  }
  return {
    async write(lines: string[]): Promise<void> {
      const size = await stat(opts.path).then((s) => s.size, () => 0);
      if (size > 0 && size >= opts.maxBytes) await rotate();
      await mkdir(dirname(opts.path), { recursive: true, mode: 0o700 }).catch(() => {});
      const file = await open(opts.path, 'a', 0o600);
      try {
        await file.write(lines.map((l) => `${l}\n`).join(''));
        await file.datasync();
      } finally {
        await file.close();
      }
    },
  };
}
