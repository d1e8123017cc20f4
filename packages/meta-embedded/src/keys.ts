/**
 * Binary keys of the embedded store. LMDB compares keys with memcmp, so encoding ids as UTF-8
 * bytes gives exactly the UTF-8 byte order the MetaStore contract asks for; a NUL after the table
 * name keeps one table's ids from ever sorting into another's (`a`+`\0`… vs `ab`+`\0`…).
 */

/** The LMDB key of (table, id). */
export function entryKey(table: string, id: string): Buffer {
  return Buffer.from(`${table}\0${id}`, 'utf8');
}

/** The byte length of a table's key prefix (name plus separator), for decoding ids back. */
export function tablePrefixLength(table: string): number {
  return Buffer.byteLength(table, 'utf8') + 1;
}

export { keySuccessor, prefixSuccessor } from '@twinport/core';

/** Rejects table names that would break the key layout. */
export function assertTable(table: string): void {
  if (table.length === 0 || table.includes('\0')) throw new TypeError(`invalid metadata table name ${JSON.stringify(table)}`);
}
