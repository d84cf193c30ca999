import { readFileSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { SqliteWriter } from './sqlite-writer.js';

// TEST-ONLY. A full disk, simulated: COFFER_TEST_PAGE_CAP_FILE names a file
// holding a page count, which becomes SQLite's max_page_count on the server's
// writing connections (the main one and the writer thread's; the setting is
// per connection, so another process cannot set it). An empty or missing file
// lifts the cap. The file is read every 50 ms; each change is written to
// stderr once applied, so a test can wait for it. Nothing reads the variable
// unless it is set.

export const TEST_PAGE_CAP_ENV = 'COFFER_TEST_PAGE_CAP_FILE';
const POLL_MS = 50;

/** The cap file, and what to do once a change is applied (default: a line on stderr). */
export interface TestPageCap {
  file: string;
  applied?: (pages: string) => void;
}

const fromEnv = (): TestPageCap | undefined => {
  const file = process.env[TEST_PAGE_CAP_ENV];
  return file ? { file, applied: (pages) => process.stderr.write(`coffer test page cap: ${pages}\n`) } : undefined;
};

/** Starts watching the cap file (the option's, else the variable's) if there is one; returns the stop function. */
export function watchTestPageCap(db: Database.Database, writer: SqliteWriter, cap = fromEnv()): () => void {
  if (!cap) return () => {};
  const { file } = cap;
  const unlimited = Number(db.pragma('max_page_count', { simple: true }));
  let applied = unlimited;
  const timer = setInterval(() => {
    let text = '';
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch {
      // missing: no cap
    }
    const pages = /^\d+$/.test(text) ? Number(text) : unlimited;
    if (pages === applied || !db.open) return;
    applied = pages;
    db.pragma(`max_page_count = ${pages}`);
    writer.setPageCap(pages);
    cap.applied?.(text || 'none');
  }, POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
