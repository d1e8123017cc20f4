import { matchRoute, scopeOf, type Scope } from '@twinport/core';
import type { QsRequest } from './request.js';
import { listBuckets } from './controllers/service.js';
import { bucketStats, createBucket, deleteBucket, deleteMultiple, headBucket } from './controllers/bucket.js';
import { deleteCors, getAcl, getCors, putAcl, putCors } from './controllers/settings.js';
import { listObjects, listUploads } from './controllers/listing.js';
import { appendObject, deleteObject, getObject, putObject } from './controllers/object.js';
import { abortUpload, completeUpload, initiateUpload, listParts, uploadPart } from './controllers/multipart.js';
import { preflight } from './controllers/preflight.js';

/** A controller. */
export type Handler = (r: QsRequest) => Promise<void>;

/** One QingStor operation: method, what it addresses, the sub-resource that selects it. */
export interface Route {
  method: string;
  scope: Scope;
  /** Query parameter that must be present; none = the plain operation. */
  sub?: string;
  handler: Handler;
  /** Whether the Host's zone is not checked against the bucket's (creating a bucket picks the zone). */
  anyZone?: boolean;
}

const routes: Route[] = [
  { method: 'GET', scope: 'service', handler: listBuckets },

  { method: 'GET', scope: 'bucket', sub: 'acl', handler: getAcl },
  { method: 'GET', scope: 'bucket', sub: 'cors', handler: getCors },
  { method: 'GET', scope: 'bucket', sub: 'stats', handler: bucketStats },
  { method: 'GET', scope: 'bucket', sub: 'uploads', handler: listUploads },
  { method: 'GET', scope: 'bucket', handler: listObjects },
  { method: 'HEAD', scope: 'bucket', handler: headBucket },
  { method: 'PUT', scope: 'bucket', sub: 'acl', handler: putAcl },
  { method: 'PUT', scope: 'bucket', sub: 'cors', handler: putCors },
  { method: 'PUT', scope: 'bucket', handler: createBucket, anyZone: true },
  { method: 'DELETE', scope: 'bucket', sub: 'cors', handler: deleteCors },
  { method: 'DELETE', scope: 'bucket', handler: deleteBucket },
  { method: 'POST', scope: 'bucket', sub: 'delete', handler: deleteMultiple },
  { method: 'OPTIONS', scope: 'bucket', handler: preflight },

  { method: 'GET', scope: 'object', sub: 'upload_id', handler: listParts },
  { method: 'GET', scope: 'object', handler: getObject },
  { method: 'HEAD', scope: 'object', handler: getObject },
  { method: 'PUT', scope: 'object', sub: 'upload_id', handler: uploadPart },
  { method: 'PUT', scope: 'object', sub: 'part_number', handler: uploadPart },
  { method: 'PUT', scope: 'object', handler: putObject },
  { method: 'DELETE', scope: 'object', sub: 'upload_id', handler: abortUpload },
  { method: 'DELETE', scope: 'object', handler: deleteObject },
  { method: 'POST', scope: 'object', sub: 'uploads', handler: initiateUpload },
  { method: 'POST', scope: 'object', sub: 'upload_id', handler: completeUpload },
  { method: 'POST', scope: 'object', sub: 'append', handler: appendObject },
  { method: 'OPTIONS', scope: 'object', handler: preflight },
];

/**
 * Query parameters that select QingStor operations. One that no route of the request's method and
 * scope handles is an unsupported operation (policy, lifecycle, logging, image processing, ...),
 * answered with a QingStor error rather than served as the plain operation.
 */
const SUBRESOURCES = new Set(['acl', 'append', 'cname', 'cors', 'delete', 'image', 'lifecycle', 'logging', 'mirror', 'notification',
  'part_number', 'policy', 'replication', 'stats', 'upload_id', 'uploads', 'versioning', 'versions']);

/** Finds the route of a request, or throws NotImplemented / MethodNotAllowed (both method_not_allowed). */
export function route(r: QsRequest): Route {
  return matchRoute(routes, scopeOf(r.bucket, r.key), r.ctx.method, r.query, SUBRESOURCES);
}
