import { createHash } from 'node:crypto';
import type { Redis, RedisValue } from 'ioredis';

/**
 * The Lua scripts behind every write and every page read. A script runs atomically in Redis, so a
 * table's hash and sorted set (see keys.ts) change together or not at all. KEYS[1] is always the
 * values hash and KEYS[2] the index; ARGV[1] the id.
 */

/** Stores ARGV[2] at the id, replacing what was there. */
const PUT = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1`;

/** Stores ARGV[2] only if the id is absent; 1 when stored. */
const INSERT = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1`;

/** Deletes the id; 1 when it existed. */
const DELETE = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1`;

/**
 * Compare-and-set: acts only if the stored JSON is still ARGV[3] (or the id is still absent when
 * ARGV[2] is '0'), then stores ARGV[5], or deletes when ARGV[4] is 'del'. 1 when it acted.
 */
const SWAP = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '1' then
  if cur ~= ARGV[3] then return 0 end
elseif cur then
  return 0
end
if ARGV[4] == 'del' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[5])
  redis.call('ZADD', KEYS[2], 0, ARGV[1])
end
return 1`;

/**
 * One page of the index between lex bounds ARGV[1]..ARGV[2], at most ARGV[3] entries, with their
 * values read in the same atomic step: a flat array id, json, id, json, ...
 */
const PAGE = `
local ids = redis.call('ZRANGEBYLEX', KEYS[2], ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local v = redis.call('HGET', KEYS[1], id)
  if v then
    out[#out + 1] = id
    out[#out + 1] = v
  end
end
return out`;

/** A Lua script run by its SHA1, loaded on demand (Redis forgets scripts when it restarts). */
export class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script with the given keys and arguments. */
  async run(client: Redis, keys: RedisValue[], args: RedisValue[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (e) {
      if (!(e instanceof Error && e.message.startsWith('NOSCRIPT'))) throw e;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

/** The store's scripts, one instance shared by every connection. */
export const SCRIPTS = {
  put: new LuaScript(PUT),
  insert: new LuaScript(INSERT),
  delete: new LuaScript(DELETE),
  swap: new LuaScript(SWAP),
  page: new LuaScript(PAGE),
};
