import { mkdir } from 'node:fs/promises';
import { open, type Database, type RootDatabase } from 'lmdb';
import { storageFailure, type MetaStore } from '@twinport/core';
import { assertTable, entryKey, keySuccessor, prefixSuccessor, tablePrefixLength } from './keys.js';

/**
 * The default metadata store: an LMDB environment in a local directory, needing no server.
 *
 * Every write commits a synchronous (fsynced) LMDB transaction before its promise resolves, so an
 * acknowledged write survives a crash. Conditional writes run their read and their write inside one
 * child write transaction, which LMDB serialises and which a throw rolls back.
 */
export class EmbeddedMetaStore implements MetaStore {
  private constructor(
    private readonly root: RootDatabase,
    private readonly db: Database<unknown, Buffer>,
    private readonly dir: string,
  ) {}

  /** Opens (creating if needed) the store kept in directory `dir`. */
  static async open(dir: string): Promise<EmbeddedMetaStore> {
    await mkdir(dir, { recursive: true });
    // overlappingSync would resolve writes before their fsync; acknowledged writes must be durable.
    const root = open({ path: dir, overlappingSync: false, maxDbs: 4 });
    const db = root.openDB<unknown, Buffer>({ name: 'meta', keyEncoding: 'binary', encoding: 'json' });
    return new EmbeddedMetaStore(root, db, dir);
  }

  /** The value stored at (table, id), or undefined. */
  async get<T>(table: string, id: string): Promise<T | undefined> {
    assertTable(table);
    return this.db.get(entryKey(table, id)) as T | undefined;
  }

  /** Stores a value, replacing any previous one. */
  async put<T>(table: string, id: string, value: T): Promise<void> {
    assertTable(table);
    assertValue(value);
    await this.write(this.db.put(entryKey(table, id), value));
  }

  /** Stores a value only if the id is absent; resolves false when it was present. */
  async insert<T>(table: string, id: string, value: T): Promise<boolean> {
    assertTable(table);
    assertValue(value);
    const key = entryKey(table, id);
    return this.write(this.db.childTransaction(() => {
      if (this.db.doesExist(key)) return false;
      this.db.put(key, value);
      return true;
    }));
  }

  /** Atomic read-modify-write; a throwing `fn` leaves the value unchanged. */
  async update<T>(table: string, id: string, fn: (current: T | undefined) => T | undefined): Promise<T | undefined> {
    assertTable(table);
    const key = entryKey(table, id);
    return this.write(this.db.childTransaction(() => {
      const current = this.db.get(key) as T | undefined;
      const next = fn(current);
      if (next === undefined) {
        if (current !== undefined) this.db.remove(key);
      } else {
        this.db.put(key, next);
      }
      return next;
    }));
  }

  /** Deletes an id; resolves true when it existed. */
  async delete(table: string, id: string): Promise<boolean> {
    assertTable(table);
    const key = entryKey(table, id);
    return this.write(this.db.childTransaction(() => {
      if (!this.db.doesExist(key)) return false;
      this.db.remove(key);
      return true;
    }));
  }

  /** A write's promise, with a full filesystem reported as InsufficientStorage. */
  private write<T>(committed: Promise<T>): Promise<T> {
    return committed.catch(async (e: unknown) => {
      throw await storageFailure(e, this.dir);
    });
  }

  /** Up to `limit` entries of a table whose id starts with `prefix` and sorts after `after`, in byte order. */
  async list<T>(table: string, opts: { prefix?: string; after?: string; limit: number }): Promise<Array<{ id: string; value: T }>> {
    assertTable(table);
    if (!(opts.limit > 0)) return [];
    const base = entryKey(table, opts.prefix ?? '');
    let start = base;
    if (opts.after !== undefined) {
      const afterKey = keySuccessor(entryKey(table, opts.after));
      if (Buffer.compare(afterKey, start) > 0) start = afterKey;
    }
    // A table key always contains the NUL separator, so a successor always exists.
    const end = prefixSuccessor(base)!;
    if (Buffer.compare(start, end) >= 0) return [];
    const skip = tablePrefixLength(table);
    const out: Array<{ id: string; value: T }> = [];
    for (const { key, value } of this.db.getRange({ start, end, limit: opts.limit })) {
      out.push({ id: key.subarray(skip).toString('utf8'), value: value as T });
    }
    return out;
  }

  /** Closes the LMDB environment. */
  async close(): Promise<void> {
    await this.root.close();
  }
}

/** Rejects values JSON cannot represent, which would otherwise fail deep inside LMDB. */
function assertValue(value: unknown): void {
  if (value === undefined) throw new TypeError('metadata values must not be undefined');
}
