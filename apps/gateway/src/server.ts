import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Engine, UserDirectory, type Driver, type MetaStore } from '@twinport/core';
import { DiskDriver } from '@twinport/driver-disk';
import { EmbeddedMetaStore } from '@twinport/meta-embedded';
import { createS3App } from '@twinport/protocol-s3';
import { loadUsers, ConfigError, type Config } from './config.js';
import { lockDataDir } from './lock.js';

/** A running gateway: its listeners' addresses and a way to stop it cleanly. */
export interface RunningGateway {
  s3: AddressInfo;
  close(): Promise<void>;
}

async function openStores(config: Config): Promise<{ driver: Driver; meta: MetaStore; unlock: () => Promise<void> }> {
  if (config.GATEWAY_DRIVER !== 'disk') throw new ConfigError(`GATEWAY_DRIVER: '${config.GATEWAY_DRIVER}' is not available in this version; use 'disk'`);
  if (config.GATEWAY_META !== 'embedded') throw new ConfigError(`GATEWAY_META: '${config.GATEWAY_META}' is not available in this version; use 'embedded'`);
  await mkdir(config.GATEWAY_DATA_DIR, { recursive: true });
  const unlock = await lockDataDir(config.GATEWAY_DATA_DIR);
  const meta = await EmbeddedMetaStore.open(join(config.GATEWAY_DATA_DIR, 'meta'));
  const driver = await DiskDriver.open(config.GATEWAY_DATA_DIR);
  return { driver, meta, unlock };
}

/** Opens the stores and starts the listeners. */
export async function startGateway(config: Config, log: Logger): Promise<RunningGateway> {
  const users = new UserDirectory(loadUsers(config));
  const { driver, meta, unlock } = await openStores(config);
  const engine = new Engine({ driver, meta, zones: config.GATEWAY_ZONES, defaultZone: config.GATEWAY_DEFAULT_ZONE });
  const app = createS3App({ engine, users, domain: config.GATEWAY_S3_DOMAIN, onInternalError: (err, ctx) => log.error({ err, method: ctx.method, url: ctx.url }, 'internal error') });
  const handler = app.callback();
  // Responses in progress. Once closing, each closes its connection when done: server.close() only
  // drops connections idle at that moment, and a keep-alive client would otherwise hold the
  // process open until its idle timeout.
  const active = new Set<ServerResponse>();
  let closing = false;
  const s3 = createServer({ requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 5_000 }, (req, res) => {
    const started = process.hrtime.bigint();
    if (closing) res.shouldKeepAlive = false;
    active.add(res);
    res.once('close', () => active.delete(res));
    res.on('finish', () => {
      log.info({ api: 's3', method: req.method, url: req.url, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6, bytes: Number(res.getHeader('content-length') ?? 0), id: res.getHeader('x-amz-request-id') }, 'request');
      // Headers sent before closing began promised keep-alive; end the connection after this response.
      if (closing) req.socket.end();
    });
    void handler(req, res);
  });
  // An idle socket (a client that stopped sending) is closed instead of held forever.
  s3.setTimeout(120_000, (socket) => socket.destroy());
  await listen(s3, config.GATEWAY_S3_PORT, config.GATEWAY_HOST);
  const address = s3.address() as AddressInfo;
  return {
    s3: address,
    async close() {
      closing = true;
      // Not yet answered: answer with `Connection: close`.
      for (const res of active) if (!res.headersSent) res.shouldKeepAlive = false;
      await new Promise<void>((resolve) => {
        s3.close(() => resolve());
        s3.closeIdleConnections();
        setTimeout(() => s3.closeAllConnections(), 10_000).unref();
      });
      await driver.close();
      await meta.close();
      await unlock();
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
