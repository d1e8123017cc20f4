import { GatewayError, parseAlgorithm, type ChecksumType, type CompletePart } from '@twinport/core';
import { bodyInput, readSmallBody } from '../body.js';
import { attributesFrom, header } from '../headers.js';
import { children, childText, parseXml, rootElement } from '../xml.js';
import { intParam, isoTime, ownerXml, requireUser, sendXml, type S3Request } from '../request.js';
import { checksumResponse, copySource, copySourceConditions } from './object.js';

/** CreateMultipartUpload, with the optional checksum algorithm and type. */
export async function createUpload(r: S3Request): Promise<void> {
  const user = requireUser(r);
  const h = r.ctx.req.headers;
  const algHeader = header(h, 'x-amz-checksum-algorithm');
  const algorithm = parseAlgorithm(algHeader);
  if (algHeader && !algorithm) throw new GatewayError('InvalidRequest', 'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]');
  const typeHeader = header(h, 'x-amz-checksum-type')?.toUpperCase();
  if (typeHeader && typeHeader !== 'COMPOSITE' && typeHeader !== 'FULL_OBJECT') throw new GatewayError('InvalidRequest', 'Value for x-amz-checksum-type header is invalid.');
  const upload = await r.engine.multipart.create(user, r.bucket!, r.key!, attributesFrom(h), { algorithm, type: typeHeader as ChecksumType | undefined });
  if (upload.checksumAlgorithm) {
    r.ctx.set('x-amz-checksum-algorithm', upload.checksumAlgorithm);
    r.ctx.set('x-amz-checksum-type', upload.checksumType!);
  }
  sendXml(r, 'InitiateMultipartUploadResult', { Bucket: r.bucket, Key: r.key, UploadId: upload.uploadId });
}

function partNumberParam(r: S3Request): number {
  const v = r.query.get('partNumber') ?? '';
  if (!/^\d+$/.test(v)) throw new GatewayError('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber', ArgumentValue: v });
  return Number(v);
}

/** UploadPart, or UploadPartCopy when x-amz-copy-source is present. */
export async function uploadPart(r: S3Request): Promise<void> {
  const user = requireUser(r);
  const h = r.ctx.req.headers;
  const uploadId = r.query.get('uploadId')!;
  const n = partNumberParam(r);
  if (header(h, 'x-amz-copy-source')) {
    const { part } = await r.engine.multipart.copyPart(user, r.bucket!, r.key!, uploadId, n, { ...copySource(h), range: header(h, 'x-amz-copy-source-range'), conditions: copySourceConditions(h) });
    sendXml(r, 'CopyPartResult', { LastModified: isoTime(part.lastModified), ETag: `"${part.etag}"` });
    return;
  }
  const part = await r.engine.multipart.uploadPart(user, r.bucket!, r.key!, uploadId, n, bodyInput(r.ctx.req, r.auth));
  r.ctx.set('ETag', `"${part.etag}"`);
  if (part.checksum) {
    const upload = await r.engine.multipart.get(user, r.bucket!, r.key!, uploadId).catch(() => undefined);
    const alg = upload?.checksumAlgorithm ?? parseAlgorithm(Object.keys(h).find((k) => k.startsWith('x-amz-checksum-'))?.slice(15)) ?? parseAlgorithm((header(h, 'x-amz-trailer') ?? '').replace('x-amz-checksum-', ''));
    if (alg) r.ctx.set(`x-amz-checksum-${alg.toLowerCase()}`, part.checksum);
  }
  r.ctx.body = null;
  r.ctx.status = 200;
}

/** CompleteMultipartUpload. */
export async function completeUpload(r: S3Request): Promise<void> {
  const user = requireUser(r);
  const uploadId = r.query.get('uploadId')!;
  await r.engine.multipart.get(user, r.bucket!, r.key!, uploadId);
  const text = (await readSmallBody(r.ctx.req, r.auth, 4 * 1024 * 1024)).toString('utf8');
  if (text.trim() === '') throw new GatewayError('MalformedXML');
  const doc = await parseXml(text);
  const root = rootElement(doc, 'CompleteMultipartUpload');
  const parts: CompletePart[] = children(root, 'Part').map((p) => {
    const num = childText(p, 'PartNumber');
    const etag = childText(p, 'ETag');
    if (!num || !/^\d+$/.test(num.trim()) || etag === undefined) throw new GatewayError('MalformedXML');
    const checksum = ['ChecksumCRC32', 'ChecksumCRC32C', 'ChecksumCRC64NVME', 'ChecksumSHA1', 'ChecksumSHA256'].map((n) => childText(p, n)).find((v) => v !== undefined);
    return { partNumber: Number(num.trim()), etag, checksum };
  });
  const h = r.ctx.req.headers;
  const rec = await r.engine.multipart.complete(user, r.bucket!, r.key!, uploadId, parts, { ifMatch: header(h, 'if-match'), ifNoneMatch: header(h, 'if-none-match') });
  checksumResponse(r, rec);
  const checksumField = rec.checksum ? { [`Checksum${rec.checksum.algorithm}`]: rec.checksum.value, ChecksumType: rec.checksum.type } : {};
  sendXml(r, 'CompleteMultipartUploadResult', {
    Location: `http://${r.ctx.host}/${r.bucket}/${encodeURIComponent(r.key!).replace(/%2F/g, '/')}`,
    Bucket: r.bucket, Key: r.key, ETag: `"${rec.etag}"`, ...checksumField,
  });
}

/** AbortMultipartUpload. */
export async function abortUpload(r: S3Request): Promise<void> {
  await r.engine.multipart.abort(requireUser(r), r.bucket!, r.key!, r.query.get('uploadId')!);
  r.ctx.body = null;
  r.ctx.status = 204;
}

/** ListParts. */
export async function listParts(r: S3Request): Promise<void> {
  const user = requireUser(r);
  const uploadId = r.query.get('uploadId')!;
  const marker = intParam(r, 'part-number-marker', 0, 10000);
  const maxParts = intParam(r, 'max-parts', 1000, 1000);
  const { upload, parts, isTruncated } = await r.engine.multipart.listParts(user, r.bucket!, r.key!, uploadId, marker, maxParts);
  const alg = upload.checksumAlgorithm;
  sendXml(r, 'ListPartsResult', {
    Bucket: r.bucket, Key: r.key, UploadId: uploadId,
    Initiator: ownerXml(r, upload.owner), Owner: ownerXml(r, upload.owner), StorageClass: 'STANDARD',
    PartNumberMarker: marker,
    NextPartNumberMarker: parts.length ? parts[parts.length - 1].partNumber : marker,
    MaxParts: maxParts, IsTruncated: isTruncated,
    ChecksumAlgorithm: alg, ChecksumType: upload.checksumType,
    Part: parts.map((p) => ({
      PartNumber: p.partNumber, LastModified: isoTime(p.lastModified), ETag: `"${p.etag}"`, Size: p.size,
      ...(alg && p.checksum ? { [`Checksum${alg}`]: p.checksum } : {}),
    })),
  });
}
