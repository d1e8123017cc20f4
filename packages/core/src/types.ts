/** The domain model shared by the core, the drivers, the metadata stores and the protocol adapters. */
import type { Grant } from './acl.js';
import type { CorsRule } from './cors.js';

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';
export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];
export type ChecksumType = 'FULL_OBJECT' | 'COMPOSITE';

/** A stored checksum: base64 of the big-endian digest, `-N` suffixed when composite. */
export interface StoredChecksum {
  algorithm: ChecksumAlgorithm;
  value: string;
  type: ChecksumType;
}

/** Content headers kept with an object and returned on GET/HEAD. */
export interface ContentHeaders {
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: string;
}

/** What a client sets on an object besides its bytes. */
export interface ObjectAttributes extends ContentHeaders {
  /** User metadata, names lowercased without the `x-amz-meta-`/`x-qs-meta-` prefix. */
  userMeta: Record<string, string>;
}

/** One part of a multipart object, kept so that `partNumber` reads and ListParts can answer. */
export interface PartSummary {
  partNumber: number;
  size: number;
  etag: string;
  checksum?: string;
}

/** Everything known about one stored object. ETags are kept without quotes. */
export interface ObjectRecord extends ObjectAttributes {
  key: string;
  size: number;
  etag: string;
  /** Milliseconds since the epoch. */
  lastModified: number;
  checksum?: StoredChecksum;
  /** Present for objects made by CompleteMultipartUpload, in part order. */
  parts?: PartSummary[];
  /** Made by appends (QingStor AppendObject); only such objects take further appends. */
  appendable?: boolean;
}

/** A bucket as the metadata store keeps it. */
export interface BucketRecord {
  name: string;
  /** User id of the owner. */
  owner: string;
  /** QingStor zone = S3 region. */
  zone: string;
  /** Milliseconds since the epoch. */
  created: number;
  /** Grants besides the owner's implicit FULL_CONTROL; absent = private. */
  acl?: Grant[];
  /** CORS rules; absent = none configured. */
  cors?: CorsRule[];
  /** Set while the bucket is being created (invisible meanwhile) or deleted (no data may be added meanwhile). */
  state?: 'creating' | 'deleting';
}

/** A multipart upload in progress. */
export interface UploadRecord {
  uploadId: string;
  bucket: string;
  key: string;
  owner: string;
  initiated: number;
  attrs: ObjectAttributes;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: ChecksumType;
  /** The driver's handle for the upload (e.g. the upstream's upload id). */
  ref?: string;
}

/** One uploaded part; `ref` is the driver's own handle to the part's bytes. */
export interface PartRecord extends PartSummary {
  lastModified: number;
  ref: string;
}

/** An authenticated principal. */
export interface User {
  /** Stable id (S3 canonical user id). */
  id: string;
  /** Display name. */
  name: string;
  accessKey: string;
  secretKey: string;
}

/** Inclusive byte range, already resolved against the object size. */
export interface ByteRange {
  start: number;
  end: number;
}
