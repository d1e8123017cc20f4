import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest unread request body read and dropped (rather than cut off) after an early answer. */
export const DRAIN_LIMIT = 16 * 1024 * 1024;

const draining = new WeakSet<IncomingMessage>();

/**
 * Deals with the unread rest of a request body before an early answer. Closing under a client that
 * is still sending makes the kernel reset the connection, and the client loses the answer; so up to
 * DRAIN_LIMIT bytes are read and dropped, keeping the connection usable. A body declared larger is
 * not read: the connection is closed after the answer (and so is one that runs past the limit).
 */
export function discardBody(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete || req.readableEnded || draining.has(req)) return;
  draining.add(req);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (req.destroyed || declared > DRAIN_LIMIT) {
    if (!res.headersSent) res.setHeader('Connection', 'close');
    return;
  }
  let seen = 0;
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > DRAIN_LIMIT) req.socket.destroy();
  });
  req.on('error', () => {});
  req.resume();
}
