import type { Context } from 'koa';
import { GatewayError, type Engine, type User, type UserDirectory } from '@twinport/core';
import type { AuthResult } from './auth/index.js';
import { renderXml, type XmlNode } from './xml.js';

/** Everything a controller needs about one S3 request, resolved before dispatch. */
export interface S3Request {
  ctx: Context;
  engine: Engine;
  users: UserDirectory;
  auth: AuthResult<User>;
  bucket?: string;
  key?: string;
  query: Map<string, string>;
  requestId: string;
}

/** The authenticated caller; anonymous callers get AccessDenied. */
export function requireUser(r: S3Request): User {
  if (!r.auth.user) throw new GatewayError('AccessDenied');
  return r.auth.user;
}

/** Sends an XML success body. */
export function sendXml(r: S3Request, root: string, body: XmlNode, status = 200): void {
  r.ctx.status = status;
  r.ctx.type = 'application/xml';
  r.ctx.body = renderXml(root, body);
}

/** The Owner element for a user id. */
export function ownerXml(r: S3Request, id: string): XmlNode {
  return { ID: id, DisplayName: r.users.byId(id)?.name ?? id };
}

/** S3's timestamp format in XML bodies. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** A non-negative integer query parameter with a default and a cap, InvalidArgument otherwise. */
export function intParam(r: S3Request, name: string, def: number, max: number): number {
  const v = r.query.get(name);
  if (v === undefined || v === '') return def;
  if (!/^\d+$/.test(v)) throw new GatewayError('InvalidArgument', `Provided ${name} not an integer or within integer range`, { ArgumentName: name, ArgumentValue: v });
  return Math.min(Number(v), max);
}
