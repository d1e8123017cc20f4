import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** How long the upstream may keep a request waiting. */
export interface StallLimits {
  /** Milliseconds to get a connection. */
  connectMs: number;
  /** Milliseconds without progress while the upstream owes us bytes. */
  stallMs: number;
  /** Milliseconds the upstream may take to answer a request it has received whole. */
  answerMs: number;
}

/** Raised (as a request's error) when the upstream does not answer in time. */
export class UpstreamTimeout extends Error {
  readonly code = 'ETIMEDOUT';
}

/**
 * Destroys `req` once the upstream leaves it waiting too long. Only waits that are the upstream's
 * doing count: connecting, a full send buffer, an answer not yet begun, or a response body that
 * stopped while its reader wants more. A slow client on the other side of the gateway (a body that
 * trickles in, a download read slowly) never trips it, so long transfers need no overall deadline.
 */
export function watch(req: ClientRequest, limits: StallLimits): void {
  let res: IncomingMessage | undefined;
  let mark = -1;
  let since = Date.now();
  const tick = Math.max(50, Math.min(limits.connectMs, limits.stallMs, limits.answerMs) / 4);
  const timer = setInterval(() => {
    const socket = req.socket as Socket | null;
    const connecting = !socket || socket.connecting;
    const progress = socket ? socket.bytesRead + socket.bytesWritten : 0;
    const now = Date.now();
    if (progress !== mark || !waitingOnUpstream(req, res, connecting)) {
      mark = progress;
      since = now;
      return;
    }
    const limit = connecting ? limits.connectMs : !res && req.writableFinished ? limits.answerMs : limits.stallMs;
    if (now - since > limit) {
      stop();
      const what = connecting ? 'connecting to' : 'waiting for';
      const error = new UpstreamTimeout(`timed out ${what} the upstream after ${limit} ms`);
      if (res) res.destroy(error);
      req.destroy(error);
    }
  }, tick);
  timer.unref();
  const stop = () => clearInterval(timer);
  req.once('response', (r: IncomingMessage) => {
    res = r;
    r.once('end', stop);
    r.once('close', stop);
  });
  req.once('close', () => {
    if (!res) stop();
  });
}

function waitingOnUpstream(req: ClientRequest, res: IncomingMessage | undefined, connecting: boolean): boolean {
  if (connecting) return true;
  if (!res) return req.writableNeedDrain || req.writableFinished;
  // The http client stops reading the socket once the response buffer is full: that wait is ours.
  return !res.complete && res.readableLength < res.readableHighWaterMark;
}
