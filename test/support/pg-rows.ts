import pg from 'pg';

// SQL against a coffer database on PostgreSQL, as a database writer outside coffer would run it (the tests of
// rows put back: authorization-replay-postgres.test.ts).

export async function pgQuery<R extends pg.QueryResultRow = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

export const pgRow = async (url: string, sql: string, ...params: unknown[]) => (await pgQuery(url, sql, params))[0]!;

/** Puts `row` back into `table` as it was. */
export const pgPutBack = (url: string, table: string, row: Record<string, unknown>) =>
  pgQuery(url, `INSERT INTO ${table} (${Object.keys(row).join(', ')}) VALUES (${Object.keys(row).map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(row));

/** Selects the session holding (or waiting for) coffer's server lock in pg_stat_activity. */
export const LOCK_CONNECTION = "application_name = 'coffer server lock' AND datname = current_database()";
