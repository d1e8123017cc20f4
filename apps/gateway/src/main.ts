#!/usr/bin/env node
import { pino } from 'pino';
import { ConfigError, DEV_ACCESS_KEY, helpText, loadConfig } from './config.js';
import { startGateway } from './server.js';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(helpText());
  process.exit(0);
}

let config;
try {
  config = loadConfig();
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`configuration error: ${e.message}`);
    process.exit(2);
  }
  throw e;
}
const log = pino({ level: config.GATEWAY_LOG_LEVEL, base: undefined });
// A rejection nobody waits for comes from work whose outcome no request depends on any more: it is
// logged as an error (which the test suites look for), not allowed to end the process under every
// other request in flight.
process.on('unhandledRejection', (reason) => {
  // lmdb-js leaves the promise of its own write batch unhandled when a commit fails (a full disk);
  // each write in that batch was rejected through its own promise, and so answered.
  const commitError = (reason as { commitError?: Promise<unknown> } | null)?.commitError;
  if (commitError && typeof commitError.then === 'function') return void commitError.catch(() => {});
  log.error({ err: reason }, 'unhandled rejection');
});

try {
  const gw = await startGateway(config, log);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await gw.close();
    log.info('stopped');
    process.exit(0);
  };
  // Installed before 'listening' is announced: whoever waits for that line may signal at once.
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  log.info({ s3: `http://${gw.s3.address}:${gw.s3.port}`, s3Port: gw.s3.port, qingstor: `http://${gw.qingstor.address}:${gw.qingstor.port}`, qingstorPort: gw.qingstor.port, dataDir: config.GATEWAY_DATA_DIR }, 'listening');
  if (config.GATEWAY_ACCESS_KEY === DEV_ACCESS_KEY) {
    log.warn({ accessKey: config.GATEWAY_ACCESS_KEY, secretKey: config.GATEWAY_SECRET_KEY }, 'using the development credentials; set GATEWAY_ACCESS_KEY and GATEWAY_SECRET_KEY');
  }
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`configuration error: ${e.message}`);
    process.exit(2);
  }
  log.fatal({ err: e }, 'failed to start');
  process.exit(1);
}
