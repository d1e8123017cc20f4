/**
 * The metadata store: a small ordered key-value store, grouped in tables, that holds what the
 * driver does not (buckets, owners, zones, ACLs, multipart bookkeeping). Values are JSON-able.
 * Implementations: embedded (no server) and Redis; every one passes the same conformance suite.
 */
export interface MetaStore {
  /** The value stored at (table, id), or undefined. */
  get<T>(table: string, id: string): Promise<T | undefined>;

  /** Stores a value, replacing any previous one. */
  put<T>(table: string, id: string, value: T): Promise<void>;

  /** Stores a value only if the id is absent; resolves false when it was present (atomic). */
  insert<T>(table: string, id: string, value: T): Promise<boolean>;

  /**
   * Atomic read-modify-write: `fn` gets the current value and returns the new one, or undefined to
   * delete it. Resolves to what was stored. `fn` may throw to abort without change, and may be
   * called more than once (a store that retries on a conflicting write calls it again).
   */
  update<T>(table: string, id: string, fn: (current: T | undefined) => T | undefined): Promise<T | undefined>;

  /** Deletes an id; resolves true when it existed. */
  delete(table: string, id: string): Promise<boolean>;

  /** Up to `limit` entries whose id starts with `prefix` and sorts after `after`, in UTF-8 byte order. */
  list<T>(table: string, opts: { prefix?: string; after?: string; limit: number }): Promise<Array<{ id: string; value: T }>>;

  /** Releases resources. */
  close(): Promise<void>;
}
