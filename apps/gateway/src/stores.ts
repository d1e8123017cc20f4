import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Driver, MetaStore } from '@twinport/core';
import { ConfigError, type Config } from './config.js';
import { lockDataDir } from './lock.js';

/** The driver and metadata store the configuration names, opened, and how to release them. */
export interface Stores {
  driver: Driver;
  meta: MetaStore;
  close(): Promise<void>;
}

/**
 * Opens the configured stores. The data directory is claimed only when something lives in it (the
 * disk driver or the embedded metadata): an s3 + redis gateway is stateless, and any number of them
 * may run side by side.
 */
export async function openStores(config: Config): Promise<Stores> {
  const local = config.GATEWAY_DRIVER === 'disk' || config.GATEWAY_META === 'embedded';
  if (config.GATEWAY_DRIVER === 's3') upstreamOptions(config);
  let unlock = async () => {};
  const opened: Array<{ close(): Promise<void> }> = [];
  try {
    if (local) {
      await mkdir(config.GATEWAY_DATA_DIR, { recursive: true });
      unlock = await lockDataDir(config.GATEWAY_DATA_DIR);
    }
    // Each store's package is loaded only when configured, so a gateway carries only the code it runs.
    const meta = config.GATEWAY_META === 'redis' ? await openRedis(config) : await (await import('@twinport/meta-embedded')).EmbeddedMetaStore.open(join(config.GATEWAY_DATA_DIR, 'meta'));
    opened.push(meta);
    const driver = config.GATEWAY_DRIVER === 's3'
      ? await (await import('@twinport/driver-s3')).S3Driver.open({ ...upstreamOptions(config), meta })
      : await (await import('@twinport/driver-disk')).DiskDriver.open(config.GATEWAY_DATA_DIR);
    return {
      driver,
      meta,
      async close() {
        await driver.close();
        await meta.close();
        await unlock();
      },
    };
  } catch (e) {
    for (const s of opened) await s.close().catch(() => {});
    await unlock();
    throw e;
  }
}

async function openRedis(config: Config): Promise<MetaStore> {
  const { RedisMetaStore } = await import('@twinport/meta-redis');
  try {
    return await RedisMetaStore.open(config.GATEWAY_REDIS_URL);
  } catch (e) {
    throw new Error(`GATEWAY_REDIS_URL: cannot reach Redis at ${config.GATEWAY_REDIS_URL}: ${(e as Error).message}`);
  }
}

/** The upstream settings the s3 driver needs; a missing one is a configuration error naming it. */
function upstreamOptions(config: Config): { endpoint: string; accessKey: string; secretKey: string; region?: string } {
  const need = (name: 'GATEWAY_UPSTREAM_ENDPOINT' | 'GATEWAY_UPSTREAM_ACCESS_KEY' | 'GATEWAY_UPSTREAM_SECRET_KEY'): string => {
    const v = config[name];
    if (!v) throw new ConfigError(`${name}: required when GATEWAY_DRIVER=s3`);
    return v;
  };
  return { endpoint: need('GATEWAY_UPSTREAM_ENDPOINT'), accessKey: need('GATEWAY_UPSTREAM_ACCESS_KEY'), secretKey: need('GATEWAY_UPSTREAM_SECRET_KEY'), region: config.GATEWAY_UPSTREAM_REGION };
}
