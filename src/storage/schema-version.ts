// What both stores' schemas share: a migration is a version and the SQL that
// brings the schema to it; a database newer than this build is refused.

export interface Migration {
  version: number;
  sql: string;
}

export class SchemaTooNewError extends Error {
  constructor(
    readonly file: string,
    readonly found: number,
    readonly known: number,
  ) {
    super(`${file} has schema version ${found}, newer than this coffer understands (up to ${known}); upgrade coffer to open it`);
    this.name = 'SchemaTooNewError';
  }
}
