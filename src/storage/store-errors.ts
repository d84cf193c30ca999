// The errors every store throws for the same conditions, whichever database it runs on.

/**
 * A write would duplicate a unique name or id ('exists'), touch a soft-deleted object ('deleted'), or found
 * what it was planned from changed by another write ('changed').
 */
export class StoreConflictError extends Error {
  constructor(public readonly reason: 'exists' | 'deleted' | 'changed', message: string) {
    super(message);
    this.name = 'StoreConflictError';
  }
}

/** A write named a parent row (a vault, a principal) that another request removed since it was read. */
export class StoreParentGoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreParentGoneError';
  }
}
