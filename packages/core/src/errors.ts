/**
 * The one error type of the gateway. Core and drivers raise it with an S3-style code; each protocol
 * adapter renders it in its own dialect (S3 XML, QingStor JSON) from the same table.
 */

interface ErrorSpec {
  /** HTTP status S3 answers with. */
  status: number;
  /** Default human message (S3's wording where it has one). */
  message: string;
}

export const ERRORS = {
  AccessDenied: { status: 403, message: 'Access Denied' },
  AccessForbidden: { status: 403, message: 'CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource\'s CORS spec.' },
  AuthorizationHeaderMalformed: { status: 400, message: 'The authorization header is malformed.' },
  AuthorizationQueryParametersError: { status: 400, message: 'Error parsing the X-Amz-Credential parameter.' },
  BadDigest: { status: 400, message: 'The Content-MD5 or checksum value that you specified did not match what the server received.' },
  BucketAlreadyExists: { status: 409, message: 'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.' },
  BucketAlreadyOwnedByYou: { status: 409, message: 'Your previous request to create the named bucket succeeded and you already own it.' },
  BucketNotEmpty: { status: 409, message: 'The bucket you tried to delete is not empty' },
  EntityTooLarge: { status: 400, message: 'Your proposed upload exceeds the maximum allowed size' },
  EntityTooSmall: { status: 400, message: 'Your proposed upload is smaller than the minimum allowed object size.' },
  IllegalLocationConstraintException: { status: 400, message: 'The specified location-constraint is not valid' },
  IncompleteBody: { status: 400, message: 'You did not provide the number of bytes specified by the Content-Length HTTP header.' },
  InsufficientStorage: { status: 507, message: 'There is not enough free space in the storage to complete the request.' },
  InternalError: { status: 500, message: 'We encountered an internal error. Please try again.' },
  InvalidAccessKeyId: { status: 403, message: 'The AWS Access Key Id you provided does not exist in our records.' },
  InvalidArgument: { status: 400, message: 'Invalid Argument' },
  MissingSecurityHeader: { status: 400, message: 'Your request was missing a required header.' },
  UnexpectedContent: { status: 400, message: 'This request does not support content.' },
  InvalidObjectState: { status: 403, message: 'The operation is not valid for the current state of the object.' },
  InvalidWriteOffset: { status: 400, message: 'The write offset value that you provided does not match the current object size.' },
  MalformedJSON: { status: 400, message: 'The JSON you provided was not well-formed.' },
  MalformedACLError: { status: 400, message: 'The XML you provided was not well-formed or did not validate against our published schema.' },
  InvalidBucketName: { status: 400, message: 'The specified bucket is not valid.' },
  InvalidDigest: { status: 400, message: 'The Content-MD5 or checksum value that you specified is not valid.' },
  InvalidLocationConstraint: { status: 400, message: 'The specified location constraint is not valid.' },
  InvalidPart: { status: 400, message: 'One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part\'s entity tag.' },
  InvalidPartNumber: { status: 416, message: 'The requested partnumber is not satisfiable' },
  InvalidPartOrder: { status: 400, message: 'The list of parts was not in ascending order. The parts list must be specified in order by part number.' },
  InvalidStorageClass: { status: 400, message: 'The storage class you specified is not valid' },
  InvalidRange: { status: 416, message: 'The requested range is not satisfiable' },
  InvalidRequest: { status: 400, message: 'Invalid Request' },
  InvalidURI: { status: 400, message: 'Couldn\'t parse the specified URI.' },
  KeyTooLongError: { status: 400, message: 'Your key is too long' },
  MalformedTrailerError: { status: 400, message: 'The request contained trailing data that was not well-formed or did not conform to our published schema.' },
  MalformedXML: { status: 400, message: 'The XML you provided was not well-formed or did not validate against our published schema' },
  MaxMessageLengthExceeded: { status: 400, message: 'Your request was too big.' },
  MetadataTooLarge: { status: 400, message: 'Your metadata headers exceed the maximum allowed metadata size.' },
  MethodNotAllowed: { status: 405, message: 'The specified method is not allowed against this resource.' },
  MissingContentLength: { status: 411, message: 'You must provide the Content-Length HTTP header.' },
  MissingRequestBodyError: { status: 400, message: 'Request Body is empty' },
  NoSuchBucket: { status: 404, message: 'The specified bucket does not exist' },
  NoSuchKey: { status: 404, message: 'The specified key does not exist.' },
  NoSuchUpload: { status: 404, message: 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.' },
  NoSuchVersion: { status: 404, message: 'The specified version does not exist.' },
  NoSuchBucketPolicy: { status: 404, message: 'The bucket policy does not exist' },
  NoSuchCORSConfiguration: { status: 404, message: 'The CORS configuration does not exist' },
  NoSuchLifecycleConfiguration: { status: 404, message: 'The lifecycle configuration does not exist' },
  NoSuchTagSet: { status: 404, message: 'The TagSet does not exist' },
  NoSuchWebsiteConfiguration: { status: 404, message: 'The specified bucket does not have a website configuration' },
  ServerSideEncryptionConfigurationNotFoundError: { status: 404, message: 'The server side encryption configuration was not found' },
  ObjectLockConfigurationNotFoundError: { status: 404, message: 'Object Lock configuration does not exist for this bucket' },
  OwnershipControlsNotFoundError: { status: 404, message: 'The bucket ownership controls were not found' },
  NoSuchPublicAccessBlockConfiguration: { status: 404, message: 'The public access block configuration was not found' },
  NotImplemented: { status: 501, message: 'A header you provided implies functionality that is not implemented.' },
  NotModified: { status: 304, message: 'Not Modified' },
  PreconditionFailed: { status: 412, message: 'At least one of the pre-conditions you specified did not hold' },
  RequestHeaderSectionTooLarge: { status: 400, message: 'Your request header section exceeds the maximum allowed size.' },
  RequestTimeout: { status: 400, message: 'Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.' },
  RequestTimeTooSkewed: { status: 403, message: 'The difference between the request time and the server\'s time is too large.' },
  ServiceUnavailable: { status: 503, message: 'Service is unable to handle request.' },
  SignatureDoesNotMatch: { status: 403, message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.' },
  XAmzContentSHA256Mismatch: { status: 400, message: 'The provided \'x-amz-content-sha256\' header does not match what was computed.' },
} satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** A failure with a protocol-neutral code; `details` become extra elements of the rendered error. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, string>;

  constructor(code: ErrorCode, message?: string, details: Record<string, string> = {}) {
    super(message ?? ERRORS[code].message);
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = details;
  }
}

/** Whether a thrown value is a GatewayError (also across package copies). */
export function isGatewayError(e: unknown): e is GatewayError {
  return e instanceof GatewayError || (typeof e === 'object' && e !== null && (e as { name?: string }).name === 'GatewayError');
}

GatewayError.prototype.name = 'GatewayError';

/** errno names, and the numbers (Linux) an embedded database reports instead, that mean "no space left". */
const NO_SPACE = new Set<unknown>(['ENOSPC', 'EDQUOT', 28, 122]);

/** Whether a failure is the storage running out of space (a full disk or an exhausted quota). */
export function isNoSpace(e: unknown): boolean {
  return typeof e === 'object' && e !== null && NO_SPACE.has((e as { code?: unknown }).code);
}

/** The answer to a full storage, in both dialects. */
export function storageFull(): GatewayError {
  return new GatewayError('InsufficientStorage', 'The gateway\'s storage is full: delete objects or add space, then try again.');
}

/**
 * The error a request is answered with for whatever it threw: a GatewayError as it is;
 * InsufficientStorage when the storage is full; IncompleteBody when the client went away
 * mid-body (nothing was committed); InternalError otherwise. `internal` says the failure is the
 * gateway's own, for the log (a full storage is, as the operator must act on it).
 */
export function answerFor(e: unknown, clientGone = false): { err: GatewayError; internal: boolean } {
  if (isGatewayError(e)) return { err: e, internal: e.code === 'InsufficientStorage' };
  if (isNoSpace(e)) return { err: storageFull(), internal: true };
  if (clientGone) return { err: new GatewayError('IncompleteBody'), internal: false };
  return { err: new GatewayError('InternalError'), internal: true };
}
