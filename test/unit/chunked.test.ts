// aws-chunked decoding: the AWS streaming vector, trailers in all three modes, and every way a body can be broken.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  AwsChunkedDecoder,
  authenticate,
  encodeChunkedBody,
  signHeaders,
  streamingContextFor,
  type ChunkedMode,
  type ChunkedOptions,
  type StreamingContext,
} from '../../packages/protocol-s3/src/auth/index.js';

const AK = 'AKIAIOSFODNN7EXAMPLE';
const SK = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const T0 = Date.UTC(2013, 4, 24);
const creds = { accessKey: AK, secretKey: SK };
const user = { secretKey: SK };
const findUser = (k: string) => (k === AK ? user : undefined);

interface Decoded {
  out: Buffer;
  trailers: Record<string, string>;
  decodedLength: number;
  err?: { code?: string; message: string };
}

/** Feeds `body` to a decoder in pieces of `step` bytes (or at the given cut points) and collects the result. */
async function decode(body: Buffer, opts: ChunkedOptions, step: number | number[] = body.length): Promise<Decoded> {
  const dec = new AwsChunkedDecoder(opts);
  const out: Buffer[] = [];
  dec.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => {
    dec.on('end', resolve);
    dec.on('error', reject);
  });
  const cuts = typeof step === 'number' ? [] : [...step, body.length];
  if (typeof step === 'number') for (let i = step; i < body.length; i += step) cuts.push(i);
  if (typeof step === 'number') cuts.push(body.length);
  let prev = 0;
  for (const c of cuts) {
    if (c > prev) dec.write(body.subarray(prev, c));
    prev = c;
  }
  dec.end();
  let err: Decoded['err'];
  try {
    await done;
  } catch (e) {
    err = e as Decoded['err'];
  }
  return { out: Buffer.concat(out), trailers: dec.trailers, decodedLength: dec.decodedLength, err };
}

const now = Date.UTC(2025, 2, 3, 4, 5, 6);
function context(payload: string): StreamingContext {
  const headers = signHeaders({ method: 'PUT', url: new URL('http://s3.local/b/k'), headers: {}, payloadHash: payload, credentials: creds, date: new Date(now) });
  const auth = authenticate({ method: 'PUT', url: '/b/k', rawHeaders: Object.entries(headers).flat() }, findUser, now);
  assert.deepEqual(auth.streaming, streamingContextFor(creds, headers));
  return auth.streaming!;
}
const signedCtx = context('STREAMING-AWS4-HMAC-SHA256-PAYLOAD');
const trailerCtx = context('STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER');
const CRC_TRAILER = { 'x-amz-checksum-crc32': 'NhCmhg==' };

function setup(mode: ChunkedMode, data: Buffer, chunkSize: number): { body: Buffer; opts: ChunkedOptions } {
  const streaming = mode === 'signed' ? signedCtx : mode === 'signed-trailer' ? trailerCtx : undefined;
  const trailers = mode === 'signed' ? undefined : CRC_TRAILER;
  const body = encodeChunkedBody({ data, chunkSize, mode, streaming, trailers });
  return { body, opts: { mode, streaming, announcedTrailers: trailers ? Object.keys(trailers) : [] } };
}

describe('AWS [SIGV4-STREAM] vector', () => {
  const headers: Record<string, string> = {
    Host: 's3.amazonaws.com',
    'x-amz-date': '20130524T000000Z',
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    Authorization: `AWS4-HMAC-SHA256 Credential=${AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9`,
    'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'Content-Encoding': 'aws-chunked',
    'x-amz-decoded-content-length': '66560',
    'Content-Length': '66824',
  };
  const data = Buffer.alloc(66560, 'a');

  test('seed signature, chunk signatures, encoded length, decoding', async () => {
    const auth = authenticate({ method: 'PUT', url: '/examplebucket/chunkObject.txt', rawHeaders: Object.entries(headers).flat() }, findUser, T0);
    assert.equal(auth.user, user);
    const ctx = auth.streaming!;
    assert.equal(ctx.seedSignature, '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9');
    assert.equal(ctx.scope, '20130524/us-east-1/s3/aws4_request');

    const body = encodeChunkedBody({ data, chunkSize: 65536, mode: 'signed', streaming: ctx });
    assert.equal(body.length, 66824);
    const text = body.toString('latin1');
    assert.ok(text.startsWith('10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n'));
    assert.ok(text.includes('\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n'));
    assert.ok(text.endsWith('\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n'));

    const r = await decode(body, { mode: 'signed', streaming: ctx, announcedTrailers: [] }, 4096);
    assert.equal(r.err, undefined);
    assert.ok(r.out.equals(data));
    assert.equal(r.decodedLength, 66560);
  });

  test('the canonical request hash of the seed request', () => {
    const e = (() => {
      try {
        authenticate({ method: 'PUT', url: '/examplebucket/chunkObject.txt', rawHeaders: Object.entries({ ...headers, 'x-amz-storage-class': 'STANDARD' }).flat() }, findUser, T0);
      } catch (err) {
        return err as { code: string; details: Record<string, string> };
      }
      assert.fail('tampered seed request accepted');
    })();
    assert.equal(e.code, 'SignatureDoesNotMatch');
    const honest = e.details.CanonicalRequest.replace('x-amz-storage-class:STANDARD', 'x-amz-storage-class:REDUCED_REDUNDANCY');
    assert.equal(createHash('sha256').update(honest).digest('hex'), 'cee3fed04b70f867d036f722359b0b1f2f0e5dc0efadbc082b76c4c60e316455');
  });
});

describe('modes and framing variants', () => {
  test('the unsigned-trailer example of s3-wire §3.3, with chunk extensions', async () => {
    const body = Buffer.from('5;ext=1\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n');
    const r = await decode(body, { mode: 'unsigned-trailer', announcedTrailers: ['x-amz-checksum-crc32'] });
    assert.equal(r.err, undefined);
    assert.equal(r.out.toString(), 'hello');
    assert.deepEqual(r.trailers, CRC_TRAILER);
  });

  for (const mode of ['signed', 'signed-trailer', 'unsigned-trailer'] as const) {
    test(`${mode}: one-byte writes, random cuts and whole writes decode identically`, async () => {
      const data = randomBytes(10_000);
      const { body, opts } = setup(mode, data, 3000);
      for (const step of [1, 7, body.length, [13, 3050, 3051, 6200, body.length - 3]]) {
        const r = await decode(body, opts, step);
        assert.equal(r.err, undefined, `step ${step}`);
        assert.ok(r.out.equals(data));
        assert.equal(r.decodedLength, data.length);
        assert.deepEqual(r.trailers, mode === 'signed' ? {} : CRC_TRAILER);
      }
    });

    test(`${mode}: empty object, and a missing final CRLF at EOF`, async () => {
      const { body, opts } = setup(mode, Buffer.alloc(0), 100);
      assert.deepEqual((await decode(body, opts)).out.length, 0);
      for (const cut of [1, 2]) {
        const r = await decode(body.subarray(0, body.length - cut), opts);
        assert.equal(r.err, undefined);
        assert.deepEqual(r.trailers, mode === 'signed' ? {} : CRC_TRAILER);
      }
    });

    test(`${mode}: every truncation fails, with IncompleteBody before the final chunk`, async () => {
      const data = randomBytes(50);
      const { body, opts } = setup(mode, data, 16);
      const finalChunk = body.lastIndexOf(Buffer.from('\r\n0')) + 2;
      for (let cut = 0; cut < body.length - 2; cut++) {
        const r = await decode(body.subarray(0, cut), opts, 5);
        assert.ok(r.err, `cut at ${cut} accepted`);
        if (cut <= finalChunk) assert.equal(r.err.code, 'IncompleteBody', `cut at ${cut}`);
        else assert.ok(['IncompleteBody', 'MalformedTrailerError', 'SignatureDoesNotMatch'].includes(r.err.code!), `cut at ${cut}: ${r.err.code}`);
      }
    });
  }
});

describe('rejections', () => {
  test('a tampered chunk is rejected before any of its bytes go downstream', async () => {
    const data = randomBytes(3 * 4096);
    const { body, opts } = setup('signed', data, 4096);
    const evil = Buffer.from(body);
    const secondChunkData = evil.indexOf('\r\n', evil.indexOf('\r\n', evil.indexOf('\r\n') + 2) + 2) + 2;
    evil[secondChunkData + 10] ^= 1;
    for (const step of [1, 1000, evil.length]) {
      const r = await decode(evil, opts, step);
      assert.equal(r.err?.code, 'SignatureDoesNotMatch');
      assert.ok(r.out.equals(data.subarray(0, 4096)), `step ${step}: ${r.out.length} bytes out`);
    }
  });

  test('a forged chunk signature, a missing one, and a foreign signing key', async () => {
    const { body, opts } = setup('signed', randomBytes(100), 40);
    const text = body.toString('latin1');
    const sig = /chunk-signature=(\w+)/.exec(text)![1];
    const forged = text.replace(sig, sig.slice(0, 63) + (sig[63] === '0' ? '1' : '0'));
    assert.equal((await decode(Buffer.from(forged, 'latin1'), opts)).err?.code, 'SignatureDoesNotMatch');
    const unsigned = text.replace(`;chunk-signature=${sig}`, '');
    assert.equal((await decode(Buffer.from(unsigned, 'latin1'), opts)).err?.code, 'SignatureDoesNotMatch');
    assert.equal((await decode(body, { ...opts, streaming: trailerCtx })).err?.code, 'SignatureDoesNotMatch');
    assert.equal((await decode(body, { ...opts, streaming: undefined })).err?.code, 'InvalidRequest');
  });

  test('a swapped final chunk signature, and a tampered trailer or trailer signature', async () => {
    const { body, opts } = setup('signed-trailer', Buffer.from('hello'), 5);
    const text = body.toString('latin1');
    assert.equal((await decode(Buffer.from(text.replace('NhCmhg==', 'NhCmhw=='), 'latin1'), opts)).err?.code, 'SignatureDoesNotMatch');
    const trailerSig = /x-amz-trailer-signature:(\w+)/.exec(text)![1];
    assert.equal((await decode(Buffer.from(text.replace(trailerSig, '0'.repeat(64)), 'latin1'), opts)).err?.code, 'SignatureDoesNotMatch');
    assert.equal((await decode(Buffer.from(text.replace(/x-amz-trailer-signature:\w+\r\n/, ''), 'latin1'), opts)).err?.code, 'SignatureDoesNotMatch');
  });

  test('missing, unannounced and malformed trailers give MalformedTrailerError', async () => {
    const announced = ['x-amz-checksum-crc32'];
    const cases = ['5\r\nhello\r\n0\r\n\r\n', '5\r\nhello\r\n0\r\nx-amz-checksum-crc32c:AAAAAA==\r\n\r\n', '5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\nx-amz-meta-x:1\r\n\r\n', '5\r\nhello\r\n0\r\nno colon here\r\n\r\n'];
    for (const body of cases) {
      const r = await decode(Buffer.from(body), { mode: 'unsigned-trailer', announcedTrailers: announced });
      assert.equal(r.err?.code, 'MalformedTrailerError', JSON.stringify(body));
    }
    const extra = await decode(Buffer.from('5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n'), { mode: 'unsigned-trailer', announcedTrailers: [...announced, 'x-amz-checksum-sha256'] });
    assert.equal(extra.err?.code, 'MalformedTrailerError');
  });

  test('garbage framing, oversized size lines and chunks never throw outside the stream', async () => {
    const opts: ChunkedOptions = { mode: 'unsigned-trailer', announcedTrailers: [] };
    const garbage = ['zz\r\nhello\r\n0\r\n\r\n', '5\r\nhello!!0\r\n\r\n', '5\nhello\r\n0\r\n\r\n', '-5\r\nhello\r\n0\r\n\r\n', '0\r\n\r\nmore'];
    for (const body of garbage) assert.equal((await decode(Buffer.from(body), opts, 2)).err?.code, 'IncompleteBody', JSON.stringify(body));
    assert.equal((await decode(Buffer.from('f'.repeat(5000)), opts, 1000)).err?.code, 'IncompleteBody');
    assert.equal((await decode(Buffer.from(`1;${'x'.repeat(5000)}\r\na\r\n0\r\n\r\n`), opts)).err?.code, 'IncompleteBody');
    const big = `${(17 * 1024 * 1024).toString(16)};chunk-signature=${'0'.repeat(64)}\r\n`;
    assert.equal((await decode(Buffer.from(big), { mode: 'signed', streaming: signedCtx, announcedTrailers: [] })).err?.code, 'InvalidArgument');
    assert.equal((await decode(Buffer.alloc(0), opts)).err?.code, 'IncompleteBody');
  });
});
