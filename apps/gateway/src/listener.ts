import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

/** One API's HTTP listener: where it listens, and how to stop it without cutting a response short. */
export interface Listener {
  address: AddressInfo;
  close(): Promise<void>;
}

/** What a listener serves: the API's name (for the log), its request handler and its request-id header. */
export interface ListenerOptions {
  api: 's3' | 'qingstor';
  handler: (req: IncomingMessage, res: ServerResponse) => unknown;
  requestIdHeader: string;
  port: number;
  host: string;
  log: Logger;
}

/** Starts a listener that logs one line per request and closes gracefully. */
export async function startListener(opts: ListenerOptions): Promise<Listener> {
  // Responses in progress. Once closing, each closes its connection when done: server.close() only
  // drops connections idle at that moment, and a keep-alive client would otherwise hold the
  // process open until its idle timeout.
  const active = new Set<ServerResponse>();
  let closing = false;
  const server = createServer({ requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 5_000 }, (req, res) => {
    const started = process.hrtime.bigint();
    if (closing) res.shouldKeepAlive = false;
    active.add(res);
    res.once('close', () => active.delete(res));
    res.on('finish', () => {
      // Checked first: building the entry costs a small request more than a no-op call suggests.
      if (opts.log.isLevelEnabled('info')) opts.log.info({ api: opts.api, method: req.method, url: req.url, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6, bytes: Number(res.getHeader('content-length') ?? 0), id: res.getHeader(opts.requestIdHeader) }, 'request');
      // Headers sent before closing began promised keep-alive; end the connection after this response.
      if (closing) req.socket.end();
    });
    void opts.handler(req, res);
  });
  // An idle socket (a client that stopped sending) is closed instead of held forever.
  server.setTimeout(120_000, (socket) => socket.destroy());
  await listen(server, opts.port, opts.host);
  return {
    address: server.address() as AddressInfo,
    async close() {
      closing = true;
      // Not yet answered: answer with `Connection: close`.
      for (const res of active) if (!res.headersSent) res.shouldKeepAlive = false;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 10_000).unref();
      });
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
