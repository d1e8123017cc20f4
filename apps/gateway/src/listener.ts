import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
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
  server.on('clientError', refuse);
  // Neither API tunnels: Node would drop a CONNECT without a word, so it is answered instead.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => socket.end('HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD, PUT, POST, DELETE, OPTIONS\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
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

/** How long a refused connection is still read from before it is closed. */
const LINGER_MS = 2_000;

/**
 * Answers a request Node's HTTP parser refused (headers too many or too large, malformed HTTP, a
 * header timeout) and closes the connection gently. Node's own handler closes at once, and closing
 * a socket with unread data makes the kernel send a reset that can destroy the answer before the
 * client reads it; so what the client is still sending is read and dropped for a moment first.
 */
function refuse(err: NodeJS.ErrnoException, socket: Duplex & { bytesWritten?: number }): void {
  if (err.code === 'ECONNRESET' || !socket.writable || (socket.bytesWritten ?? 0) > 0) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  socket.on('error', () => {});
  socket.on('data', () => {});
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
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
