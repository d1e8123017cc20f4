import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { MetaStore } from '@twinport/core';
import { redisFailure } from './failures.js';
import { lexRange, tableKeys, type TableKeys } from './keys.js';
import { SCRIPTS, type LuaScript } from './scripts.js';

/** Options of {@link RedisMetaStore.open}. */
export interface RedisMetaOptions {
  /** Prepended to every Redis key (default `twinport:`); stores with different prefixes share nothing. */
  keyPrefix?: string;
}

/** How long one command may wait for its reply before the call fails as unavailable. */
const COMMAND_TIMEOUT_MS = 1500;
/** How long opening a TCP connection may take. */
const CONNECT_TIMEOUT_MS = 1000;
/** Upper bound of the pause between reconnection attempts, which therefore never stop. */
const MAX_RECONNECT_DELAY_MS = 500;
/** Compare-and-set rounds one update may lose before it gives up as overloaded. */
const MAX_UPDATE_ATTEMPTS = 1000;

/**
 * The metadata store kept in Redis, so that several gateway processes share one namespace. The key
 * layout is described in keys.ts; every multi-key write is one Lua script.
 *
 * The client is tuned to fail fast rather than queue: while Redis is unreachable every call rejects
 * at once (no offline queue, in-flight commands are not replayed), a Redis that stops answering
 * fails calls after COMMAND_TIMEOUT_MS, and in both cases the caller gets GatewayError
 * ServiceUnavailable. Reconnection continues in the background forever, so the same store works
 * again as soon as Redis is back. A write that timed out may still have been applied (Redis got it,
 * the reply did not arrive in time), but never half of it.
 *
 * `update` is optimistic: it reads, runs `fn` in JS, and writes only if the stored JSON is still
 * what it read, otherwise it retries. So `fn` may run more than once and should have no effects
 * beyond its return value (or ones a later run overwrites).
 */
export class RedisMetaStore implements MetaStore {
  private constructor(
    private readonly client: Redis,
    private readonly prefix: string,
  ) {}

  /** Connects to the Redis at `url`; rejects with ServiceUnavailable when it cannot be reached. */
  static async open(url: string, opts: RedisMetaOptions = {}): Promise<RedisMetaStore> {
    const client = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    });
    // Without a listener ioredis prints every failed reconnection attempt; calls report outages.
    client.on('error', () => {});
    try {
      await withTimeout(client.connect(), CONNECT_TIMEOUT_MS + COMMAND_TIMEOUT_MS);
    } catch (e) {
      client.disconnect();
      throw redisFailure(e);
    }
    return new RedisMetaStore(client, opts.keyPrefix ?? 'twinport:');
  }

  /** The value stored at (table, id), or undefined. */
  async get<T>(table: string, id: string): Promise<T | undefined> {
    const keys = this.keys(table);
    const json = await this.call(() => this.client.hget(keys.values, id));
    return json === null ? undefined : (JSON.parse(json) as T);
  }

  /** Stores a value, replacing any previous one. */
  async put<T>(table: string, id: string, value: T): Promise<void> {
    const keys = this.keys(table);
    await this.script(SCRIPTS.put, keys, [id, toJson(value)]);
  }

  /** Stores a value only if the id is absent; resolves false when it was present. */
  async insert<T>(table: string, id: string, value: T): Promise<boolean> {
    const keys = this.keys(table);
    return (await this.script(SCRIPTS.insert, keys, [id, toJson(value)])) === 1;
  }

  /** Atomic read-modify-write by compare-and-set; a throwing `fn` leaves the value unchanged. */
  async update<T>(table: string, id: string, fn: (current: T | undefined) => T | undefined): Promise<T | undefined> {
    const keys = this.keys(table);
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const seen = await this.call(() => this.client.hget(keys.values, id));
      const next = fn(seen === null ? undefined : (JSON.parse(seen) as T));
      // Nothing stored and nothing to store: the read itself is the atomic step.
      if (next === undefined && seen === null) return undefined;
      const args = next === undefined ? ['del', ''] : ['set', toJson(next)];
      const swapped = await this.script(SCRIPTS.swap, keys, [id, seen === null ? '0' : '1', seen ?? '', ...args]);
      if (swapped === 1) return next;
      // Lost the race: back off a random moment so that contenders spread out instead of colliding again.
      await sleep(Math.random() * Math.min(2 ** attempt, 20));
    }
    throw redisFailure(new Error(`update of ${table}/${id} lost ${MAX_UPDATE_ATTEMPTS} races`));
  }

  /** Deletes an id; resolves true when it existed. */
  async delete(table: string, id: string): Promise<boolean> {
    const keys = this.keys(table);
    return (await this.script(SCRIPTS.delete, keys, [id])) === 1;
  }

  /** Up to `limit` entries of a table whose id starts with `prefix` and sorts after `after`, in byte order. */
  async list<T>(table: string, opts: { prefix?: string; after?: string; limit: number }): Promise<Array<{ id: string; value: T }>> {
    const keys = this.keys(table);
    if (!(opts.limit > 0)) return [];
    const { min, max } = lexRange(opts.prefix, opts.after);
    // ZRANGEBYLEX takes a negative count as "no limit"; Lua cannot parse "Infinity".
    const count = Number.isFinite(opts.limit) ? Math.floor(opts.limit) : -1;
    const flat = (await this.script(SCRIPTS.page, keys, [min, max, count])) as string[];
    const out: Array<{ id: string; value: T }> = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ id: flat[i], value: JSON.parse(flat[i + 1]) as T });
    return out;
  }

  /** Quits the connection (or drops it when Redis is unreachable) and stops reconnecting. */
  async close(): Promise<void> {
    if (this.client.status === 'ready') {
      try {
        await this.client.quit();
        return;
      } catch {
        // Redis went away while quitting; dropping the socket below is all that is left to do.
      }
    }
    this.client.disconnect();
  }

  private keys(table: string): TableKeys {
    return tableKeys(this.prefix, table);
  }

  private script(script: LuaScript, keys: TableKeys, args: Array<string | Buffer | number>): Promise<unknown> {
    return this.call(() => script.run(this.client, [keys.values, keys.index], args));
  }

  /** Runs one Redis round trip, turning every Redis or connection failure into a GatewayError. */
  private async call<R>(op: () => Promise<R>): Promise<R> {
    try {
      return await op();
    } catch (e) {
      throw redisFailure(e);
    }
  }
}

/** The JSON text of a value; rejects what JSON cannot represent rather than storing "undefined". */
function toJson(value: unknown): string {
  const json = value === undefined ? undefined : JSON.stringify(value);
  if (json === undefined) throw new TypeError('metadata values must be representable as JSON');
  return json;
}

/** Rejects when `p` has not settled within `ms`. */
async function withTimeout<R>(p: Promise<R>, ms: number): Promise<R> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, expired]);
  } finally {
    clearTimeout(timer);
  }
}
