import Koa, { type Context } from 'koa';
import { answerFor, type ErrorCode, GatewayError, requestIds, type Engine, type UserDirectory } from '@twinport/core';
import { authenticate } from './auth/index.js';
import { resolveTarget } from './addressing.js';
import { route } from './routes.js';
import { applyCors } from './cors.js';
import { escapeXml } from './xml.js';
import type { S3Request } from './request.js';
import { checkRequestHeaders } from './headers.js';

/** What the S3 adapter needs: the engine, who may sign, and the base domain for virtual hosts. */
export interface S3AppOptions {
  engine: Engine;
  users: UserDirectory;
  /** `<bucket>.<domain>` hosts address buckets virtual-host style. */
  domain: string;
  /** Called for failures that are not the client's fault, for logging, with the code they were answered with. */
  onInternalError?: (err: unknown, ctx: Context, answered: ErrorCode) => void;
}

const nextRequestId = requestIds(true);

/** Builds the Koa application serving the S3 API. */
export function createS3App(opts: S3AppOptions): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx) => {
    const requestId = nextRequestId();
    ctx.set('x-amz-request-id', requestId);
    ctx.set('x-amz-id-2', Buffer.from(requestId).toString('base64'));
    ctx.state.requestId = requestId;
    let resource = ctx.path;
    try {
      const target = resolveTarget(ctx.req.url ?? '/', ctx.req.headers.host, opts.domain);
      resource = `/${target.bucket ?? ''}${target.key !== undefined ? `/${target.key}` : ''}`;
      const auth = authenticate({ method: ctx.method, url: ctx.req.url ?? '/', rawHeaders: ctx.req.rawHeaders, vhostBucket: target.virtualHost ? target.bucket : undefined }, (k) => opts.users.find(k));
      const r: S3Request = { ctx, engine: opts.engine, users: opts.users, auth, bucket: target.bucket, key: target.key, query: target.query, requestId };
      ctx.state.s3 = r;
      const handler = route(r);
      checkRequestHeaders(ctx.req.headers);
      await applyCors(r);
      await handler(r);
    } catch (e) {
      // A client that went away mid-body is not the gateway's failure; nothing was committed.
      const { err, internal } = answerFor(e, !ctx.req.complete && ctx.req.destroyed);
      if (internal) opts.onInternalError?.(e, ctx, err.code);
      ctx.state.errorCode = err.code;
      renderError(ctx, err, resource, requestId);
    }
  });
  return app;
}

/** Largest unread request body drained (rather than cut off) after an early error answer. */
const DRAIN_LIMIT = 16 * 1024 * 1024;

/**
 * Deals with the unread rest of a request body after an error. Closing under a client that is
 * still sending makes the kernel reset the connection, and the client then loses the answer
 * (EPIPE/ECONNRESET instead of the S3 error). So up to DRAIN_LIMIT bytes are read and dropped,
 * keeping the connection usable; a body declared larger is cut off, and so is an HTTP-chunked one
 * that runs past the limit.
 */
function drainOrClose(ctx: Context): void {
  const req = ctx.req;
  const declared = Number(req.headers['content-length'] ?? 0);
  if (req.destroyed || declared > DRAIN_LIMIT) {
    ctx.set('Connection', 'close');
    return;
  }
  let seen = 0;
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > DRAIN_LIMIT) req.socket.destroy();
  });
  req.resume();
}

/** Renders an error as S3 does: XML `<Error>` without namespace, no body on HEAD and 304. */
export function renderError(ctx: Context, err: GatewayError, resource: string, requestId: string): void {
  ctx.status = err.status;
  if (!ctx.req.complete) drainOrClose(ctx);
  if (err.code === 'InvalidRange' && err.details.ActualObjectSize !== undefined) ctx.set('Content-Range', `bytes */${err.details.ActualObjectSize}`);
  if (err.code === 'MethodNotAllowed' && err.details.Allow) ctx.set('Allow', err.details.Allow);
  if (ctx.method === 'HEAD' || err.status === 304) {
    ctx.body = null;
    ctx.status = err.status;
    return;
  }
  const extra = Object.entries(err.details).filter(([k]) => k !== 'Allow').map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`).join('');
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${err.code}</Code><Message>${escapeXml(err.message)}</Message>${extra}<Resource>${escapeXml(resource)}</Resource><RequestId>${requestId}</RequestId><HostId>${Buffer.from(requestId).toString('base64')}</HostId></Error>`;
}
