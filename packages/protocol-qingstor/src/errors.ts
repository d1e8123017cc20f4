import type { Context } from 'koa';
import { ERRORS, isGatewayError, type ErrorCode } from '@twinport/core';
import { discardBody } from './drain.js';

/** Where every QingStor error body points its `url`. */
export const ERROR_DOC_URL = 'https://docs.qingcloud.com/qingstor/api/common/error_code.html';

/** QingStor's error codes with their status and default message (qingcloud-docs error_code.md). */
export const QS_CODES = {
  access_denied: { status: 400, message: 'The request was refused.' },
  bad_digest: { status: 400, message: 'The Content-MD5 you specified did not match what we received.' },
  bucket_already_exists: { status: 409, message: 'The bucket you are creating already exists.' },
  bucket_not_empty: { status: 409, message: 'The bucket you are deleting is not empty.' },
  bucket_not_exists: { status: 404, message: 'The bucket you are accessing does not exist.' },
  entity_too_large: { status: 400, message: 'Your proposed upload exceeds the maximum allowed size.' },
  entity_too_small: { status: 400, message: 'Your proposed upload is smaller than the minimum allowed size.' },
  incomplete_body: { status: 400, message: 'The request body is incomplete.' },
  internal_error: { status: 500, message: 'We encountered an internal error. Please try again.' },
  invalid_access_key_id: { status: 401, message: 'The access key id you provided does not exist.' },
  invalid_argument: { status: 400, message: 'Invalid argument(s) or invalid argument value(s).' },
  invalid_bucket_name: { status: 400, message: 'The bucket name is not valid.' },
  invalid_json: { status: 400, message: 'The JSON you provided was not well-formed.' },
  invalid_location: { status: 400, message: 'The zone you specified does not exist.' },
  invalid_object_state: { status: 400, message: 'The object is in a state that does not allow this operation.' },
  invalid_object_name: { status: 400, message: 'The object name is not valid.' },
  invalid_range: { status: 416, message: 'The requested range is not satisfiable.' },
  invalid_request: { status: 400, message: 'The request is not valid.' },
  metadata_too_large: { status: 400, message: 'Your metadata headers exceed the maximum allowed metadata size.' },
  method_not_allowed: { status: 405, message: 'The specified method is not allowed against this resource.' },
  not_modified: { status: 304, message: 'Not Modified' },
  object_not_exists: { status: 404, message: 'The object you are accessing does not exist.' },
  permission_denied: { status: 403, message: 'You do not have enough permission to accomplish this request.' },
  precondition_failed: { status: 412, message: 'At least one of the preconditions you specified did not hold.' },
  request_expired: { status: 403, message: 'The request has expired.' },
  service_unavailable: { status: 503, message: 'The service is temporarily unavailable. Please try again.' },
  signature_not_matched: { status: 401, message: 'The signature you provided does not match.' },
  upload_not_exists: { status: 404, message: 'The multipart upload you are accessing does not exist.' },
} as const satisfies Record<string, { status: number; message: string }>;

/** A QingStor error code. */
export type QsCode = keyof typeof QS_CODES;

// S3-only "configuration not set" answers: QingStor answers an unset configuration with an empty
// document, so the QingStor controllers never raise these; QingStor has no code for them.
const NO_CONFIG: QsCode = 'invalid_request';

/**
 * The one mapping from core codes to QingStor codes. A core code missing here (added to the core
 * later) renders by its own status, as invalid_request or internal_error; a unit test lists them.
 */
export const CODE_MAP: Partial<Record<ErrorCode, QsCode>> = {
  AccessDenied: 'permission_denied',
  AccessForbidden: 'permission_denied',
  InvalidPartNumber: 'invalid_range',
  AuthorizationHeaderMalformed: 'invalid_argument',
  AuthorizationQueryParametersError: 'invalid_argument',
  BadDigest: 'bad_digest',
  BucketAlreadyExists: 'bucket_already_exists',
  BucketAlreadyOwnedByYou: 'bucket_already_exists',
  BucketNotEmpty: 'bucket_not_empty',
  EntityTooLarge: 'entity_too_large',
  EntityTooSmall: 'entity_too_small',
  IllegalLocationConstraintException: 'invalid_location',
  IncompleteBody: 'incomplete_body',
  // QingStor has no code for a full storage; its clients retry service_unavailable.
  InsufficientStorage: 'service_unavailable',
  InternalError: 'internal_error',
  InvalidAccessKeyId: 'invalid_access_key_id',
  InvalidArgument: 'invalid_argument',
  InvalidBucketName: 'invalid_bucket_name',
  InvalidDigest: 'bad_digest',
  InvalidLocationConstraint: 'invalid_location',
  InvalidObjectState: 'invalid_object_state',
  InvalidPart: 'invalid_argument',
  InvalidPartOrder: 'invalid_request',
  InvalidRange: 'invalid_range',
  InvalidStorageClass: 'invalid_request',
  InvalidRequest: 'invalid_request',
  InvalidURI: 'invalid_request',
  InvalidWriteOffset: 'invalid_argument',
  KeyTooLongError: 'invalid_object_name',
  MalformedACLError: 'invalid_request',
  MalformedTrailerError: 'invalid_request',
  // QingStor bodies are JSON, so the core's malformed-document code is QingStor's invalid_json.
  MalformedXML: 'invalid_json',
  MalformedJSON: 'invalid_json',
  MaxMessageLengthExceeded: 'entity_too_large',
  MetadataTooLarge: 'metadata_too_large',
  MethodNotAllowed: 'method_not_allowed',
  MissingContentLength: 'invalid_request',
  MissingRequestBodyError: 'invalid_request',
  MissingSecurityHeader: 'invalid_request',
  NoSuchBucket: 'bucket_not_exists',
  NoSuchKey: 'object_not_exists',
  NoSuchUpload: 'upload_not_exists',
  NoSuchVersion: 'object_not_exists',
  NoSuchBucketPolicy: NO_CONFIG,
  NoSuchCORSConfiguration: NO_CONFIG,
  NoSuchLifecycleConfiguration: NO_CONFIG,
  NoSuchTagSet: NO_CONFIG,
  NoSuchWebsiteConfiguration: NO_CONFIG,
  ServerSideEncryptionConfigurationNotFoundError: NO_CONFIG,
  ObjectLockConfigurationNotFoundError: NO_CONFIG,
  OwnershipControlsNotFoundError: NO_CONFIG,
  NoSuchPublicAccessBlockConfiguration: NO_CONFIG,
  NotImplemented: 'method_not_allowed',
  NotModified: 'not_modified',
  PreconditionFailed: 'precondition_failed',
  RequestHeaderSectionTooLarge: 'invalid_request',
  RequestTimeout: 'incomplete_body',
  RequestTimeTooSkewed: 'request_expired',
  ServiceUnavailable: 'service_unavailable',
  SignatureDoesNotMatch: 'signature_not_matched',
  UnexpectedContent: 'invalid_request',
  XAmzContentSHA256Mismatch: 'bad_digest',
};

/** A failure as QingStor states it. */
export interface QsError {
  status: number;
  code: QsCode;
  message: string;
}

/**
 * Translates a thrown value: a GatewayError through CODE_MAP (a message the thrower chose is kept,
 * the core's S3 wording is replaced by QingStor's), anything else as internal_error.
 */
export function toQsError(err: unknown): QsError {
  if (!isGatewayError(err)) return { code: 'internal_error', ...QS_CODES.internal_error };
  const mapped = CODE_MAP[err.code];
  const code: QsCode = mapped ?? (err.status >= 500 ? 'internal_error' : 'invalid_request');
  const status = mapped ? QS_CODES[code].status : err.status;
  // Internal failures keep their details to the log.
  const chosen = code !== 'internal_error' && err.message !== ERRORS[err.code]?.message;
  return { status, code, message: chosen ? err.message : QS_CODES[code].message };
}

/** QingStor's JSON error document. */
export interface QsErrorBody {
  code: QsCode;
  message: string;
  request_id: string;
  url: string;
}

/** The error document for a failure. */
export function errorBody(e: QsError, requestId: string): QsErrorBody {
  return { code: e.code, message: e.message, request_id: requestId, url: ERROR_DOC_URL };
}

/**
 * Answers with a QingStor error: its status, `x-qs-request-id`, and the JSON document with
 * `Content-Type: application/json` exactly (no body for HEAD and 304). An unread request body is
 * drained or the connection marked for closing, so the client still gets the answer.
 */
export function renderError(ctx: Context, err: unknown, requestId: string): void {
  const e = toQsError(err);
  discardBody(ctx.req, ctx.res);
  ctx.status = e.status;
  ctx.set('x-qs-request-id', requestId);
  const details = isGatewayError(err) ? err.details : {};
  if (e.code === 'invalid_range' && details.ActualObjectSize !== undefined) ctx.set('Content-Range', `bytes */${details.ActualObjectSize}`);
  if (e.code === 'method_not_allowed' && details.Allow) ctx.set('Allow', details.Allow);
  if (ctx.method === 'HEAD' || e.status === 304) {
    ctx.body = null;
    // Koa turns a null body into 204; the status has to be set again.
    ctx.status = e.status;
    return;
  }
  ctx.body = Buffer.from(JSON.stringify(errorBody(e, requestId)));
  ctx.set('Content-Type', 'application/json');
}
