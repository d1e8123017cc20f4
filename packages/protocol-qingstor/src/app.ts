import Koa, { type Context } from 'koa';
import { answerFor, type ErrorCode, GatewayError, requestIds, isValidBucketName, type Engine, type UserDirectory } from '@twinport/core';
import { addressError, resolveAddress, type Address } from './addressing.js';
import { verifyRequest } from './auth/index.js';
import { renderError } from './errors.js';
import { route } from './routes.js';
import { addCorsHeaders } from './controllers/preflight.js';
import { zoneVerdict } from './zones.js';
import type { QsRequest, Site } from './request.js';

/** What the QingStor adapter needs: the engine, who may sign, and where zones and buckets are addressed. */
export interface QingStorAppOptions {
  engine: Engine;
  users: UserDirectory;
  /** Base host: `<zone>.<domain>` and `<bucket>.<zone>.<domain>` address zones and buckets. */
  domain: string;
  /** The port clients reach, for bucket URLs and redirect Locations; the connection's local port when absent. */
  port?: number;
  /** Called for failures that are not the client's fault, for logging, with the code they were answered with. */
  onInternalError?: (err: unknown, ctx: Context, answered: ErrorCode) => void;
}

const nextRequestId = requestIds(false);

function siteOf(ctx: Context, a: Address, opts: QingStorAppOptions): Site {
  const port = opts.port ?? ctx.req.socket.localPort;
  const protocol = ctx.protocol;
  const defaultPort = protocol === 'https' ? 443 : 80;
  // A request through `localhost` or an address is answered in its own terms, not the configured domain's.
  return { protocol, base: a.baseHost ?? opts.domain, port: port === undefined || port === defaultPort ? undefined : port };
}

/** Builds the Koa application serving the QingStor API. */
export function createQingStorApp(opts: QingStorAppOptions): Koa {
  const app = new Koa();
  app.silent = true;
  const addressing = { domain: opts.domain, zones: opts.engine.zones, defaultZone: opts.engine.defaultZone };
  app.use(async (ctx) => {
    const requestId = nextRequestId();
    ctx.set('x-qs-request-id', requestId);
    ctx.state.requestId = requestId;
    let r: QsRequest | undefined;
    try {
      const a = resolveAddress(ctx.req.headers.host, ctx.req.url ?? '/', addressing);
      if (a.kind !== 'address') throw addressError(a);
      if (a.bucket !== undefined && !isValidBucketName(a.bucket)) throw new GatewayError('InvalidBucketName', `"${a.bucket}" is not a valid bucket name.`);
      const user = verifyRequest({ method: ctx.method, url: ctx.req.url ?? '/', headers: ctx.req.headers, vhostBucket: a.virtualHost ? a.bucket : undefined }, (k) => opts.users.find(k));
      r = { ctx, engine: opts.engine, users: opts.users, user, bucket: a.bucket, key: a.key, zone: a.zone, zoneGiven: a.zoneGiven, query: a.query, requestId, site: siteOf(ctx, a, opts) };
      const match = route(r);
      const verdict = match.anyZone ? { kind: 'serve' as const } : await zoneVerdict(r, a.rawPath, a.rawQuery, a.virtualHost);
      if (verdict.kind === 'redirect') {
        ctx.set('Location', verdict.location);
        ctx.body = null;
        ctx.status = 301;
        return;
      }
      await match.handler(r);
      await addCorsHeaders(r);
    } catch (e) {
      // A client that went away mid-body is not the gateway's failure; nothing was committed.
      const { err, internal } = answerFor(e, !ctx.req.complete && ctx.req.destroyed);
      if (internal) opts.onInternalError?.(e, ctx, err.code);
      ctx.state.errorCode = err.code;
      renderError(ctx, err, requestId);
      if (r) await addCorsHeaders(r);
    }
  });
  return app;
}
