import { join } from 'node:path';
import { GatewayError } from '@twinport/core';

/**
 * Where the disk driver keeps things under its data directory. Every file name here is a random
 * id or a validated token, never derived from a key, so no key can name a path.
 *
 * ```
 * <dataDir>/objects/index/          LMDB: `index` (bucket/key → entry), `inline` (bucket/key → bytes of
 *                                   small objects) and `pending` (blob ids to reap)
 * <dataDir>/objects/blobs/<ab>/<id> immutable object bytes, fanned out by the id's first two hex digits
 * <dataDir>/objects/tmp/<id>        bytes being received; wiped at open
 * <dataDir>/objects/uploads/<uploadId>/<part>-<id>  parts of multipart uploads in progress
 * ```
 */
export class Layout {
  /** Root of everything the driver owns. */
  readonly root: string;
  /** The LMDB environment directory. */
  readonly index: string;
  /** Parent of the blob fan-out directories. */
  readonly blobs: string;
  /** In-flight writes, on the same filesystem as blobs so that rename is atomic. */
  readonly tmp: string;
  /** One directory per multipart upload. */
  readonly uploads: string;

  /** Lays the driver out under `dataDir`. */
  constructor(dataDir: string) {
    this.root = join(dataDir, 'objects');
    this.index = join(this.root, 'index');
    this.blobs = join(this.root, 'blobs');
    this.tmp = join(this.root, 'tmp');
    this.uploads = join(this.root, 'uploads');
  }

  /** The fan-out directory holding blob `id`. */
  blobDir(id: string): string {
    return join(this.blobs, id.slice(0, 2));
  }

  /** The file of blob `id`. */
  blobPath(id: string): string {
    assertId(id);
    return join(this.blobDir(id), id);
  }

  /** The temporary file of an in-flight write. */
  tmpPath(id: string): string {
    assertId(id);
    return join(this.tmp, id);
  }

  /** The directory of an upload; throws NoSuchUpload for ids that are not safe tokens. */
  uploadDir(uploadId: string): string {
    if (!UPLOAD_ID.test(uploadId)) throw new GatewayError('NoSuchUpload');
    return join(this.uploads, uploadId);
  }

  /** The file behind a part ref; throws InvalidPart for refs this driver never handed out. */
  partPath(uploadId: string, ref: string): string {
    if (!PART_REF.test(ref)) throw new GatewayError('InvalidPart');
    return join(this.uploadDir(uploadId), ref);
  }
}

/** Every fan-out directory name, created up front so that writes never need a mkdir. */
export const FAN_OUT: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Blob and temp ids: lowercase UUIDs as crypto.randomUUID makes them. */
export const BLOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const UPLOAD_ID = /^[A-Za-z0-9_-]{1,128}$/;
const PART_REF = /^[0-9]{1,5}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Guards every path built from an id read back from disk or the index. */
export function assertId(id: string): void {
  if (!BLOB_ID.test(id)) throw new Error(`corrupt blob id ${JSON.stringify(id)}`);
}
