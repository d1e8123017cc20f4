import type { IncomingMessage } from 'node:http';
import { ERRORS, GatewayError, type ErrorCode } from '@twinport/core';
import { text } from './xml.js';

/** Network failures that mean the upstream cannot be reached right now. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * Upstream answers that say the gateway itself is misconfigured (its upstream credentials or
 * permissions): passing them on would tell a client that *its* request was unauthorised.
 */
const OUR_FAULT = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'RequestTimeTooSkewed', 'AuthorizationHeaderMalformed', 'ExpiredToken', 'InvalidToken', 'AllAccessDisabled', 'AccountProblem', 'InvalidSecurity', 'XAmzContentSHA256Mismatch']);

/** Whether an error from a socket to the upstream means it is unreachable. */
export function isUnreachable(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && UNREACHABLE.has(code);
}

/** The error for an upstream that cannot be reached or does not answer. */
export function unavailable(cause: unknown): GatewayError {
  const why = (cause as { code?: string; message?: string } | null)?.code ?? (cause as Error | null)?.message ?? String(cause);
  return new GatewayError('ServiceUnavailable', `The upstream storage service is unavailable (${why}).`);
}

/**
 * The GatewayError for an upstream error answer with `status` and S3 error `code` (undefined for a
 * HEAD, which has no body): the same code where the core knows it, a 503 for the upstream's own
 * trouble, else the nearest code for the status. `notFound` names what a bare 404 means.
 */
export function mapUpstreamError(status: number, code: string | undefined, message: string | undefined, notFound: ErrorCode): GatewayError {
  if (status === 507 || code === 'InsufficientStorage' || code === 'XMinioStorageFull') return new GatewayError('InsufficientStorage', `The upstream storage service is full (${code ?? status}).`);
  if (status >= 500 && status !== 501) return new GatewayError('ServiceUnavailable', `The upstream storage service failed (${code ?? status}).`);
  if (code && OUR_FAULT.has(code)) return new GatewayError('ServiceUnavailable', `The upstream storage service refused the gateway's request (${code}).`);
  if (code && code in ERRORS) return new GatewayError(code as ErrorCode, status === 400 && message ? message : undefined);
  if (status === 404) return new GatewayError(notFound);
  if (status === 304) return new GatewayError('NotModified');
  if (status === 412) return new GatewayError('PreconditionFailed');
  if (status === 416) return new GatewayError('InvalidRange');
  if (status === 409) return new GatewayError('PreconditionFailed', `The upstream refused a conflicting write (${code ?? status}).`);
  if (status === 403 || status === 401) return new GatewayError('ServiceUnavailable', `The upstream storage service refused the gateway's request (${code ?? status}).`);
  if (status === 501) return new GatewayError('NotImplemented', message);
  return new GatewayError('InvalidRequest', message ?? `The upstream refused the request (${code ?? status}).`);
}

/** Largest error document read from the upstream; the rest is discarded. */
const ERROR_BODY_LIMIT = 64 * 1024;

/** Reads an upstream error answer and maps it; the response is consumed. */
export async function errorFromResponse(res: IncomingMessage, notFound: ErrorCode): Promise<GatewayError> {
  let body = '';
  try {
    for await (const chunk of res) {
      if (body.length < ERROR_BODY_LIMIT) body += (chunk as Buffer).toString('utf8');
    }
  } catch {
    // A truncated error document still has the status.
  }
  const status = res.statusCode ?? 500;
  return mapUpstreamError(status, errorCodeOf(body, res), text(body, 'Message'), notFound);
}

/** The S3 error code of an error document, or of a HEAD answer's `x-amz-error-code` header. */
export function errorCodeOf(body: string, res?: IncomingMessage): string | undefined {
  const fromBody = body.includes('<Error') ? text(body, 'Code') : undefined;
  const header = res?.headers['x-amz-error-code'];
  return fromBody ?? (typeof header === 'string' ? header : undefined);
}
