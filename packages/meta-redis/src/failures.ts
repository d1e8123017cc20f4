import { GatewayError } from '@twinport/core';

/** Reply prefixes of a Redis that is up but temporarily cannot serve (loading, failing over, full). */
const TRANSIENT_REPLIES = ['LOADING', 'BUSY', 'READONLY', 'MASTERDOWN', 'TRYAGAIN', 'CLUSTERDOWN', 'OOM', 'MISCONF', 'NOREPLICAS'];

/**
 * The GatewayError for a failed Redis call. Connection loss, refused connections and timeouts are a
 * dependency outage (503, the client may retry); any other error reply means the data or the
 * deployment is wrong and retrying will not help (500). The client-facing message never names the
 * Redis host; the original error stays on `cause` for logs.
 */
export function redisFailure(err: unknown): GatewayError {
  const reply = isReplyError(err);
  const transient = !reply || TRANSIENT_REPLIES.some((p) => (err as Error).message.startsWith(p));
  const out = transient
    ? new GatewayError('ServiceUnavailable', 'The metadata store is unavailable. Please try again.')
    : new GatewayError('InternalError', 'The metadata store rejected a request.');
  out.cause = err;
  return out;
}

/** Whether Redis answered with an error (as opposed to the connection failing). */
function isReplyError(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}
