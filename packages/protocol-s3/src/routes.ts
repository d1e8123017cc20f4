import { matchRoute, scopeOf, type Scope } from '@twinport/core';
import type { S3Request } from './request.js';
import { listBuckets } from './controllers/service.js';
import { createBucket, deleteBucket, deleteBucketCors, deleteObjects, getAcl, getBucketCors, getBucketLocation, getBucketVersioning, headBucket, putBucketAcl, putBucketCors, unsetSubresource } from './controllers/bucket.js';
import { preflight } from './cors.js';
import { listMultipartUploads, listObjectsV1, listObjectsV2, listObjectVersions } from './controllers/listing.js';
import { deleteObject, getObject, putObject } from './controllers/object.js';
import { abortUpload, completeUpload, createUpload, listParts, uploadPart } from './controllers/multipart.js';

type Handler = (r: S3Request) => Promise<void>;

/** One S3 operation: method, what it addresses, the sub-resource that selects it. */
interface Route {
  method: string;
  scope: Scope;
  /** Query parameter that must be present (S3 sub-resource); none = the plain operation. */
  sub?: string;
  handler: Handler;
}

const routes: Route[] = [
  { method: 'GET', scope: 'service', handler: listBuckets },

  { method: 'GET', scope: 'bucket', sub: 'location', handler: getBucketLocation },
  { method: 'GET', scope: 'bucket', sub: 'versioning', handler: getBucketVersioning },
  { method: 'GET', scope: 'bucket', sub: 'versions', handler: listObjectVersions },
  { method: 'GET', scope: 'bucket', sub: 'uploads', handler: listMultipartUploads },
  { method: 'GET', scope: 'bucket', sub: 'acl', handler: getAcl },
  { method: 'GET', scope: 'bucket', sub: 'policy', handler: unsetSubresource('NoSuchBucketPolicy') },
  { method: 'GET', scope: 'bucket', sub: 'cors', handler: getBucketCors },
  { method: 'PUT', scope: 'bucket', sub: 'cors', handler: putBucketCors },
  { method: 'DELETE', scope: 'bucket', sub: 'cors', handler: deleteBucketCors },
  { method: 'OPTIONS', scope: 'bucket', handler: preflight },
  { method: 'GET', scope: 'bucket', sub: 'lifecycle', handler: unsetSubresource('NoSuchLifecycleConfiguration') },
  { method: 'GET', scope: 'bucket', sub: 'tagging', handler: unsetSubresource('NoSuchTagSet') },
  { method: 'GET', scope: 'bucket', sub: 'website', handler: unsetSubresource('NoSuchWebsiteConfiguration') },
  { method: 'GET', scope: 'bucket', sub: 'encryption', handler: unsetSubresource('ServerSideEncryptionConfigurationNotFoundError') },
  { method: 'GET', scope: 'bucket', sub: 'object-lock', handler: unsetSubresource('ObjectLockConfigurationNotFoundError') },
  { method: 'GET', scope: 'bucket', sub: 'ownershipControls', handler: unsetSubresource('OwnershipControlsNotFoundError') },
  { method: 'GET', scope: 'bucket', sub: 'publicAccessBlock', handler: unsetSubresource('NoSuchPublicAccessBlockConfiguration') },
  { method: 'GET', scope: 'bucket', sub: 'list-type', handler: async (r) => (r.query.get('list-type') === '2' ? listObjectsV2(r) : listObjectsV1(r)) },
  { method: 'GET', scope: 'bucket', handler: listObjectsV1 },
  { method: 'HEAD', scope: 'bucket', handler: headBucket },
  { method: 'PUT', scope: 'bucket', sub: 'acl', handler: putBucketAcl },
  { method: 'PUT', scope: 'bucket', handler: createBucket },
  { method: 'DELETE', scope: 'bucket', handler: deleteBucket },
  { method: 'POST', scope: 'bucket', sub: 'delete', handler: deleteObjects },

  { method: 'GET', scope: 'object', sub: 'uploadId', handler: listParts },
  { method: 'GET', scope: 'object', sub: 'acl', handler: getAcl },
  { method: 'GET', scope: 'object', handler: getObject },
  { method: 'HEAD', scope: 'object', handler: getObject },
  { method: 'PUT', scope: 'object', sub: 'uploadId', handler: uploadPart },
  { method: 'PUT', scope: 'object', handler: putObject },
  { method: 'DELETE', scope: 'object', sub: 'uploadId', handler: abortUpload },
  { method: 'DELETE', scope: 'object', handler: deleteObject },
  { method: 'POST', scope: 'object', sub: 'uploads', handler: createUpload },
  { method: 'POST', scope: 'object', sub: 'uploadId', handler: completeUpload },
  { method: 'OPTIONS', scope: 'object', handler: preflight },
];

/** Query parameters that name S3 sub-resources; an unrouted one is an unsupported operation. */
const SUBRESOURCES = new Set(['accelerate', 'acl', 'analytics', 'attributes', 'cors', 'delete', 'encryption', 'intelligent-tiering',
  'inventory', 'legal-hold', 'lifecycle', 'location', 'logging', 'metrics', 'notification', 'object-lock', 'ownershipControls',
  'policy', 'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment', 'restore', 'retention', 'select', 'tagging',
  'torrent', 'uploadId', 'uploads', 'versioning', 'versions', 'website', 'renameObject']);

/** Finds the handler for a request, or throws MethodNotAllowed / NotImplemented. */
export function route(r: S3Request): Handler {
  return matchRoute(routes, scopeOf(r.bucket, r.key), r.ctx.method, r.query, SUBRESOURCES).handler;
}
