import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'koa';
import { GatewayError } from '@twinport/core';
import { discardBody } from './drain.js';

/** Largest JSON request body read by default (ACLs, policies, CORS, delete lists are far smaller). */
export const JSON_LIMIT = 1024 * 1024;

/** The two halves of an exchange, as Koa's context and a plain Node handler both have them. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
}

/** Options of readJson. */
export interface JsonReadOptions {
  /** Byte limit; larger bodies are refused with entity_too_large. */
  limit?: number;
  /** Return undefined for an empty body instead of refusing it. */
  allowEmpty?: boolean;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Reads the whole body up to `limit` bytes; over it, the rest is discarded and MaxMessageLengthExceeded thrown. */
function readBounded({ req, res }: Exchange, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    discardBody(req, res);
    return Promise.reject(new GatewayError('MaxMessageLengthExceeded', `The request body is larger than ${limit} bytes.`));
  }
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        done();
        discardBody(req, res);
        reject(new GatewayError('MaxMessageLengthExceeded', `The request body is larger than ${limit} bytes.`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      done();
      resolve(Buffer.concat(chunks));
    };
    const onError = (): void => {
      done();
      reject(new GatewayError('IncompleteBody'));
    };
    // 'close' before 'end' means the client went away mid-body.
    const onClose = (): void => {
      if (req.complete) return;
      done();
      reject(new GatewayError('IncompleteBody'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** Checks a Content-MD5 header (base64 of the body's MD5) when the client sent one. */
function checkMd5(req: IncomingMessage, body: Buffer): void {
  const sent = req.headers['content-md5'];
  if (typeof sent !== 'string') return;
  if (!/^[A-Za-z0-9+/]{22}==$/.test(sent.trim())) throw new GatewayError('InvalidDigest', 'The Content-MD5 you specified is not valid.');
  if (createHash('md5').update(body).digest('base64') !== sent.trim()) throw new GatewayError('BadDigest');
}

/**
 * Reads a JSON request body: bounded by `limit` (entity_too_large), checked against Content-MD5
 * (bad_digest), refused when empty (invalid_request) and when not UTF-8 JSON (invalid_json).
 */
export async function readJson(http: Exchange, opts: JsonReadOptions = {}): Promise<unknown> {
  const body = await readBounded(http, opts.limit ?? JSON_LIMIT);
  checkMd5(http.req, body);
  if (body.length === 0) {
    if (opts.allowEmpty) return undefined;
    throw new GatewayError('MissingRequestBodyError', 'The request body is empty.');
  }
  try {
    return JSON.parse(UTF8.decode(body)) as unknown;
  } catch {
    // The core has no JSON code; its malformed-document code renders as invalid_json.
    throw new GatewayError('MalformedJSON');
  }
}

/** Like readJson, but the document must be a JSON object (every QingStor request body is one). */
export async function readJsonObject(http: Exchange, opts: JsonReadOptions = {}): Promise<Record<string, unknown>> {
  const value = await readJson(http, opts);
  if (value === undefined && opts.allowEmpty) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new GatewayError('MalformedJSON', 'The request body must be a JSON object.');
  return value as Record<string, unknown>;
}

/**
 * Sends a JSON success body with `Content-Type: application/json` exactly: the Python SDK parses
 * a 2xx body only under that literal value, and Koa's own JSON type adds `; charset=utf-8`.
 */
export function sendJson(ctx: Context, value: unknown, status = 200): void {
  ctx.status = status;
  ctx.body = Buffer.from(JSON.stringify(value));
  ctx.set('Content-Type', 'application/json');
}
