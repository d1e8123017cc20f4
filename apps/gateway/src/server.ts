import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Engine, UserDirectory } from '@twinport/core';
import { createS3App } from '@twinport/protocol-s3';
import { createQingStorApp } from '@twinport/protocol-qingstor';
import { loadUsers, type Config } from './config.js';
import { startListener, type Listener } from './listener.js';
import { openStores } from './stores.js';

/** A running gateway: its listeners' addresses and a way to stop it cleanly. */
export interface RunningGateway {
  s3: AddressInfo;
  qingstor: AddressInfo;
  close(): Promise<void>;
}

/** Opens the stores and starts the listeners. */
export async function startGateway(config: Config, log: Logger): Promise<RunningGateway> {
  const users = new UserDirectory(loadUsers(config));
  const stores = await openStores(config);
  try {
    const engine = new Engine({ driver: stores.driver, meta: stores.meta, zones: config.GATEWAY_ZONES, defaultZone: config.GATEWAY_DEFAULT_ZONE, defaultChecksum: config.GATEWAY_DEFAULT_CHECKSUM === 'crc64nvme' });
    // A full storage is the operator's to fix, so it is logged as an error too, under its own name.
    const onInternalError = (err: unknown, ctx: { method: string; url: string }, answered: string) =>
      log.error({ err, method: ctx.method, url: ctx.url }, answered === 'InsufficientStorage' ? 'storage full' : 'internal error');
    const s3App = createS3App({ engine, users, domain: config.GATEWAY_S3_DOMAIN, onInternalError });
    const s3 = await startListener({ api: 's3', handler: s3App.callback(), requestIdHeader: 'x-amz-request-id', port: config.GATEWAY_S3_PORT, host: config.GATEWAY_HOST, log });
    // Port 0 means a kernel-picked port: the app then names the port each connection arrived on.
    const qsApp = createQingStorApp({ engine, users, domain: config.GATEWAY_QINGSTOR_DOMAIN, port: config.GATEWAY_QINGSTOR_PORT || undefined, onInternalError });
    let qingstor: Listener;
    try {
      qingstor = await startListener({ api: 'qingstor', handler: qsApp.callback(), requestIdHeader: 'x-qs-request-id', port: config.GATEWAY_QINGSTOR_PORT, host: config.GATEWAY_HOST, log });
    } catch (e) {
      await s3.close();
      throw e;
    }
    return {
      s3: s3.address,
      qingstor: qingstor.address,
      async close() {
        await Promise.all([s3.close(), qingstor.close()]);
        await stores.close();
      },
    };
  } catch (e) {
    await stores.close();
    throw e;
  }
}
