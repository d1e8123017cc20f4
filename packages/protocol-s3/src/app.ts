import { randomBytes } from 'node:crypto';
import Koa, { type Context } from 'koa';
import { GatewayError, isGatewayError, type Engine, type UserDirectory } from '@twinport/core';
import { authenticate } from './auth/index.js';
import { resolveTarget } from './addressing.js';
import { route } from './routes.js';
import { escapeXml } from './xml.js';
import type { S3Request } from './request.js';

/** What the S3 adapter needs: the engine, who may sign, and the base domain for virtual hosts. */
export interface S3AppOptions {
  engine: Engine;
  users: UserDirectory;
  /** `<bucket>.<domain>` hosts address buckets virtual-host style. */
  domain: string;
  /** Called for failures that are not the client's fault, for logging. */
  onInternalError?: (err: unknown, ctx: Context) => void;
}

/** Builds the Koa application serving the S3 API. */
export function createS3App(opts: S3AppOptions): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx) => {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
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
      await route(r)(r);
    } catch (e) {
      const err = isGatewayError(e) ? e : new GatewayError('InternalError');
      if (!isGatewayError(e)) opts.onInternalError?.(e, ctx);
      ctx.state.errorCode = err.code;
      renderError(ctx, err, resource, requestId);
    }
  });
  return app;
}

/** Renders an error as S3 does: XML `<Error>` without namespace, no body on HEAD and 304. */
export function renderError(ctx: Context, err: GatewayError, resource: string, requestId: string): void {
  ctx.status = err.status;
  if (!ctx.req.complete) ctx.set('Connection', 'close');
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
