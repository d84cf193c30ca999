import pg from 'pg';

// SQL against a coffer database on PostgreSQL, as a database writer outside coffer would run it (the tests of
// rows put back: authorization-replay-postgres.test.ts).

export async function pgQuery(url: string, sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as Array<Record<string, unknown>>;
  } finally {
    await c.end();
  }
}

export const pgRow = async (url: string, sql: string, ...params: unknown[]) => (await pgQuery(url, sql, params))[0]!;

/** Puts `row` back into `table` as it was. */
export const pgPutBack = (url: string, table: string, row: Record<string, unknown>) =>
  pgQuery(url, `INSERT INTO ${table} (${Object.keys(row).join(', ')}) VALUES (${Object.keys(row).map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(row));
