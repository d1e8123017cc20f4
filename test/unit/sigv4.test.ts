// SigV4 header and presigned authentication: AWS's published vectors, client/server round trips, and the error codes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  EMPTY_SHA256,
  authenticate,
  canonicalQuery,
  canonicalRequest,
  decodePath,
  formatAmzDate,
  hmacHex,
  parseQuery,
  presignUrl,
  signHeaders,
  signingKey,
  stringToSign,
  uriEncode,
  type IncomingAuthRequest,
} from '../../packages/protocol-s3/src/auth/index.js';

const AK = 'AKIAIOSFODNN7EXAMPLE';
const SK = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const T0 = Date.UTC(2013, 4, 24);
const DATE = new Date(T0);
const HOST = 'examplebucket.s3.amazonaws.com';
const SCOPE = '20130524/us-east-1/s3/aws4_request';
const creds = { accessKey: AK, secretKey: SK };
const user = { id: 'example', secretKey: SK };
const findUser = (k: string) => (k === AK ? user : undefined);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function req(method: string, url: string, headers: Record<string, string> | Array<[string, string]>): IncomingAuthRequest {
  const list = Array.isArray(headers) ? headers : Object.entries(headers);
  return { method, url, rawHeaders: list.flat() };
}

/** Runs fn and returns the GatewayError it throws. */
function failure(fn: () => unknown): { code: string; message: string; details: Record<string, string> } {
  try {
    fn();
  } catch (e) {
    return e as { code: string; message: string; details: Record<string, string> };
  }
  assert.fail('expected an error');
}

function authHeader(signedHeaders: string, signature: string): string {
  return `AWS4-HMAC-SHA256 Credential=${AK}/${SCOPE}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

describe('AWS [SIGV4-HDR] vectors', () => {
  test('GET Object: canonical request hash, kSigning, signature', () => {
    const lines = `host:${HOST}\nrange:bytes=0-9\nx-amz-content-sha256:${EMPTY_SHA256}\nx-amz-date:20130524T000000Z\n`;
    const signed = 'host;range;x-amz-content-sha256;x-amz-date';
    const cr = canonicalRequest('GET', '/test.txt', '', lines, signed, EMPTY_SHA256);
    assert.equal(sha256(cr), '7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972');
    const key = signingKey(SK, '20130524', 'us-east-1', 's3');
    assert.equal(key.toString('hex'), 'dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378');
    const sig = hmacHex(key, stringToSign('20130524T000000Z', SCOPE, cr));
    assert.equal(sig, 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');

    const headers = { Host: HOST, Range: 'bytes=0-9', 'x-amz-content-sha256': EMPTY_SHA256, 'x-amz-date': '20130524T000000Z', Authorization: authHeader(signed, sig) };
    const r = authenticate(req('GET', '/test.txt', headers), findUser, T0);
    assert.equal(r.user, user);
    assert.equal(r.kind, 'header');
    assert.equal(r.region, 'us-east-1');
    assert.equal(r.payload, EMPTY_SHA256);
    assert.equal(r.streaming, undefined);

    const client = signHeaders({ method: 'GET', url: new URL(`https://${HOST}/test.txt`), headers: { range: 'bytes=0-9' }, payloadHash: EMPTY_SHA256, credentials: creds, date: DATE });
    assert.equal(client.authorization, authHeader(signed, sig));
  });

  test('PUT Object with x-amz-storage-class and a Date header', () => {
    const body = 'Welcome to Amazon S3.';
    const payload = sha256(body);
    assert.equal(payload, '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072');
    const headers = { date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' };
    const signed = signHeaders({ method: 'PUT', url: new URL(`https://${HOST}/test%24file.text`), headers, payloadHash: payload, credentials: creds, date: DATE });
    assert.equal(signed.authorization, authHeader('date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class', '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd'));
    const lines = `date:${headers.date}\nhost:${HOST}\nx-amz-content-sha256:${payload}\nx-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n`;
    const cr = canonicalRequest('PUT', '/test%24file.text', '', lines, 'date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class', payload);
    assert.equal(sha256(cr), '9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d');
    const r = authenticate(req('PUT', '/test%24file.text', signed), findUser, T0);
    assert.equal(r.kind, 'header');
    assert.equal(r.payload, payload);
  });

  for (const [name, url, query, signature] of [
    ['GET Bucket lifecycle', '/?lifecycle', 'lifecycle=', 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543'],
    ['GET Bucket (List Objects)', '/?max-keys=2&prefix=J', 'max-keys=2&prefix=J', '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7'],
    ['GET Bucket (List Objects), parameters reversed', '/?prefix=J&max-keys=2', 'max-keys=2&prefix=J', '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7'],
  ] as const) {
    test(name, () => {
      assert.equal(canonicalQuery(parseQuery(url.slice(2))), query);
      const signed = signHeaders({ method: 'GET', url: new URL(`https://${HOST}${url}`), headers: {}, payloadHash: EMPTY_SHA256, credentials: creds, date: DATE });
      assert.equal(signed.authorization, authHeader('host;x-amz-content-sha256;x-amz-date', signature));
      assert.equal(authenticate(req('GET', url, signed), findUser, T0).user, user);
    });
  }
});

describe('AWS [SIGV4-QUERY] presigned vector', () => {
  const expectedQuery = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${AK}%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host`;
  const signature = 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';

  test('presignUrl produces the published URL', () => {
    const url = presignUrl({ method: 'GET', url: new URL(`https://${HOST}/test.txt`), expires: 86400, credentials: creds, date: DATE });
    assert.equal(url, `https://${HOST}/test.txt?${expectedQuery}&X-Amz-Signature=${signature}`);
    const cr = canonicalRequest('GET', '/test.txt', expectedQuery, `host:${HOST}\n`, 'host', 'UNSIGNED-PAYLOAD');
    assert.equal(hmacHex(signingKey(SK, '20130524', 'us-east-1', 's3'), stringToSign('20130524T000000Z', SCOPE, cr)), signature);
  });

  test('the server accepts it for its whole lifetime, with no skew check on the signing time', () => {
    const r0 = req('GET', `/test.txt?${expectedQuery}&X-Amz-Signature=${signature}`, { Host: HOST });
    for (const now of [T0, T0 + 3_600_000, T0 + 86_400_000]) {
      const r = authenticate(r0, findUser, now);
      assert.equal(r.kind, 'presigned');
      assert.equal(r.user, user);
      assert.equal(r.payload, 'UNSIGNED-PAYLOAD');
      assert.equal(r.region, 'us-east-1');
    }
    const expired = failure(() => authenticate(r0, findUser, T0 + 86_401_000));
    assert.equal(expired.code, 'AccessDenied');
    assert.equal(expired.message, 'Request has expired');
    assert.deepEqual(expired.details, { 'X-Amz-Expires': '86400', Expires: '2013-05-25T00:00:00Z', ServerTime: '2013-05-25T00:00:01Z' });
    const early = failure(() => authenticate(r0, findUser, T0 - 16 * 60_000));
    assert.equal(early.code, 'AccessDenied');
    assert.equal(early.message, 'Request is not yet valid');
    assert.equal(authenticate(r0, findUser, T0 - 14 * 60_000).kind, 'presigned');
  });
});

describe('encoding', () => {
  test('uriEncode follows S3 rules', () => {
    assert.equal(uriEncode("a b!'()*~._-", true), 'a%20b%21%27%28%29%2A~._-');
    assert.equal(uriEncode('a/b+c', false), 'a/b%2Bc');
    assert.equal(uriEncode('a/b+c', true), 'a%2Fb%2Bc');
    assert.equal(uriEncode('€😀', true), '%E2%82%AC%F0%9F%98%80');
    assert.equal(uriEncode('%', true), '%25');
  });

  test('decodePath decodes once, keeps plus, rejects bad escapes and bad UTF-8', () => {
    assert.equal(decodePath('/b/a%2520b+c'), '/b/a%20b+c');
    assert.equal(decodePath('/b/%E2%82%ac'), '/b/€');
    assert.equal(decodePath('/b/%EF%BB%BFbom'), '/b/\uFEFFbom');
    for (const bad of ['/b/%zz', '/b/%4', '/b/a%', '/b/%C3%28', '/b/%FF', '/b/%ED%A0%80']) {
      assert.equal(failure(() => decodePath(bad)).code, 'InvalidURI', bad);
    }
  });

  test('parseQuery reads bare + as space, valueless names as empty', () => {
    assert.deepEqual(parseQuery('prefix=a+b&uploads&&x=%2B=y'), [['prefix', 'a b'], ['uploads', ''], ['x', '+=y']]);
    assert.equal(failure(() => parseQuery('a=%G1')).code, 'InvalidURI');
    assert.equal(canonicalQuery([['b', '2'], ['a', 'x y'], ['a', '1'], ['X-Amz-Signature', 'z']], 'X-Amz-Signature'), 'a=1&a=x%20y&b=2');
  });
});

describe('round trips through signHeaders / presignUrl', () => {
  const keys = ['plain.txt', 'a b', 'a+b', '100%', '50%25', 'tilde~', "bang!'()*", 'ключ/日本語', 'emoji😀.png', 'a//b', '//lead', 'a/./b', 'a/../b', '../up', 'trail/', 'q?x&y=z#frag', 'semi;colon,comma:=@$'];
  const base = 'http://127.0.0.1:9000';
  const now = Date.UTC(2025, 0, 2, 3, 4, 5);

  for (const key of keys) {
    test(`key ${JSON.stringify(key)}`, () => {
      // WHATWG URLs collapse dot segments, so such keys travel with their slashes encoded.
      let path = `/bucket/${uriEncode(key, false)}`;
      if (new URL(base + path).pathname !== path) path = `/bucket/${uriEncode(key, true)}`;
      const url = new URL(`${base}${path}?prefix=${uriEncode(key, true)}&list-type=2`);
      assert.equal(url.pathname, path);
      assert.equal(decodePath(url.pathname), `/bucket/${key}`);

      const signed = signHeaders({ method: 'PUT', url, headers: { 'content-type': 'text/plain', 'x-amz-meta-k': `  v  ${key}  ` }, payloadHash: 'UNSIGNED-PAYLOAD', credentials: { ...creds, region: 'pek3b' }, date: new Date(now) });
      const r = authenticate(req('PUT', url.pathname + url.search, signed), findUser, now);
      assert.equal(r.user, user);
      assert.equal(r.region, 'pek3b');

      const presigned = new URL(presignUrl({ method: 'GET', url, expires: 600, credentials: creds, date: new Date(now) }));
      assert.equal(authenticate(req('GET', presigned.pathname + presigned.search, { host: presigned.host }), findUser, now).kind, 'presigned');
    });
  }

  test('a raw path with dot segments and a literal plus is signed as sent', () => {
    const rawPath = '/bucket/a/./b/../c+d%20e';
    const amzDate = formatAmzDate(new Date(now));
    const scope = `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
    const lines = `host:h\nx-amz-content-sha256:${EMPTY_SHA256}\nx-amz-date:${amzDate}\n`;
    const cr = canonicalRequest('GET', '/bucket/a/./b/../c%2Bd%20e', '', lines, 'host;x-amz-content-sha256;x-amz-date', EMPTY_SHA256);
    const sig = hmacHex(signingKey(SK, amzDate.slice(0, 8), 'us-east-1', 's3'), stringToSign(amzDate, scope, cr));
    const headers = { host: 'h', 'x-amz-content-sha256': EMPTY_SHA256, 'x-amz-date': amzDate, authorization: `AWS4-HMAC-SHA256 Credential=${AK}/${scope},SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=${sig}` };
    assert.equal(authenticate(req('GET', rawPath, headers), findUser, now).user, user);
    assert.equal(authenticate(req('GET', `http://h${rawPath}`, headers), findUser, now).user, user);
  });
});

describe('header authentication details and errors', () => {
  const now = Date.UTC(2025, 5, 1, 12, 0, 0);
  const url = new URL('http://s3.local:8080/bucket/key');
  const sign = (headers: Record<string, string> = {}, payloadHash = EMPTY_SHA256) => signHeaders({ method: 'GET', url, headers, payloadHash, credentials: creds, date: new Date(now) });
  const run = (headers: Record<string, string> | Array<[string, string]>, at = now, target = '/bucket/key') => authenticate(req('GET', target, headers), findUser, at);

  test('anonymous requests carry no user', () => {
    assert.deepEqual(run({ host: 'h' }), { user: undefined, kind: 'anonymous', payload: 'UNSIGNED-PAYLOAD' });
  });

  test('tolerant Authorization parsing, folded whitespace and repeated headers', () => {
    const h = sign({ 'x-amz-meta-a': 'one,two', 'x-amz-meta-b': 'x   y' });
    const auth = h.authorization.replace(/, /g, ',').replace(/=/g, ' = ');
    const list: Array<[string, string]> = Object.entries({ ...h, authorization: auth }).filter(([n]) => n !== 'x-amz-meta-a' && n !== 'x-amz-meta-b');
    list.push(['X-Amz-Meta-A', ' one '], ['x-amz-meta-a', 'two'], ['x-amz-meta-b', '  x y  ']);
    assert.equal(run(list).user, user);
  });

  test('streaming payloads return the seed signature and key', () => {
    const h = sign({}, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD');
    const r = run(h);
    assert.equal(r.payload, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD');
    assert.equal(r.streaming?.seedSignature, /Signature=(\w+)/.exec(h.authorization)![1]);
    assert.equal(r.streaming?.amzDate, h['x-amz-date']);
    assert.equal(r.streaming?.scope, `${h['x-amz-date'].slice(0, 8)}/us-east-1/s3/aws4_request`);
    assert.equal(run(sign({}, 'STREAMING-UNSIGNED-PAYLOAD-TRAILER')).streaming, undefined);
  });

  test('a tampered header gives SignatureDoesNotMatch with the texts AWS returns', () => {
    const h = { ...sign({ 'x-amz-meta-a': '1' }), 'x-amz-meta-a': '2' };
    const e = failure(() => run(h));
    assert.equal(e.code, 'SignatureDoesNotMatch');
    assert.deepEqual(Object.keys(e.details).sort(), ['AWSAccessKeyId', 'CanonicalRequest', 'SignatureProvided', 'StringToSign']);
    assert.equal(e.details.AWSAccessKeyId, AK);
    assert.match(e.details.CanonicalRequest, /\nx-amz-meta-a:2\n/);
    assert.match(e.details.StringToSign, /^AWS4-HMAC-SHA256\n\d{8}T\d{6}Z\n/);
    assert.equal(failure(() => run(sign(), now, '/bucket/other')).code, 'SignatureDoesNotMatch');
    assert.equal(failure(() => run(sign(), now, '/bucket/key?acl')).code, 'SignatureDoesNotMatch');
  });

  test('a signed header missing from the request gives SignatureDoesNotMatch', () => {
    const { 'x-amz-meta-a': _gone, ...rest } = sign({ 'x-amz-meta-a': '' });
    assert.equal(failure(() => run(rest)).code, 'SignatureDoesNotMatch');
  });

  test('unknown key, skew, date mismatch, service, missing payload header', () => {
    const other = signHeaders({ method: 'GET', url, headers: {}, payloadHash: EMPTY_SHA256, credentials: { accessKey: 'NOPE', secretKey: 'x' }, date: new Date(now) });
    assert.deepEqual(failure(() => run(other)).details, { AWSAccessKeyId: 'NOPE' });

    const h = sign();
    assert.equal(run(h, now + 14 * 60_000).user, user);
    const skew = failure(() => run(h, now + 16 * 60_000));
    assert.equal(skew.code, 'RequestTimeTooSkewed');
    assert.deepEqual(skew.details, { RequestTime: h['x-amz-date'], ServerTime: '2025-06-01T12:16:00Z', MaxAllowedSkewMilliseconds: '900000' });
    assert.equal(failure(() => run(h, now - 16 * 60_000)).code, 'RequestTimeTooSkewed');

    assert.equal(failure(() => run({ ...h, 'x-amz-date': '20250602T120000Z' }, Date.UTC(2025, 5, 2, 12))).code, 'AuthorizationHeaderMalformed');
    assert.equal(failure(() => run({ ...h, authorization: h.authorization.replace('/s3/', '/iam/') })).code, 'AuthorizationHeaderMalformed');
    assert.equal(failure(() => run({ ...h, authorization: h.authorization.replace(/Signature=\w+/, '') })).code, 'AuthorizationHeaderMalformed');
    const { 'x-amz-content-sha256': _p, ...noPayload } = h;
    assert.equal(failure(() => run(noPayload)).code, 'InvalidRequest');
    assert.equal(failure(() => run({ ...h, 'x-amz-content-sha256': 'nonsense' })).code, 'InvalidArgument');
  });

  test('the Date header stands in for x-amz-date', () => {
    // signHeaders always adds x-amz-date, so this request is signed by hand over Date only.
    const date = new Date(now).toUTCString();
    const amzDate = formatAmzDate(new Date(now));
    const scope = `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
    const lines = `date:${date}\nhost:s3.local:8080\nx-amz-content-sha256:${EMPTY_SHA256}\n`;
    const cr = canonicalRequest('GET', '/bucket/key', '', lines, 'date;host;x-amz-content-sha256', EMPTY_SHA256);
    const sig = hmacHex(signingKey(SK, amzDate.slice(0, 8), 'us-east-1', 's3'), stringToSign(amzDate, scope, cr));
    const headers = { date, host: 's3.local:8080', 'x-amz-content-sha256': EMPTY_SHA256, authorization: `AWS4-HMAC-SHA256 Credential=${AK}/${scope}, SignedHeaders=date;host;x-amz-content-sha256, Signature=${sig}` };
    assert.equal(run(headers).user, user);
    assert.equal(failure(() => run(headers, now + 20 * 60_000)).code, 'RequestTimeTooSkewed');
  });

  test('SigV2 header and query signatures (AWS vectors), SigV4a, and two mechanisms at once', () => {
    const date = 'Tue, 27 Mar 2007 19:36:42 +0000';
    const at = Date.parse(date);
    const v2 = (authorization: string, vhostBucket?: string, path = '/photos/puppy.jpg') =>
      authenticate({ method: 'GET', url: path, rawHeaders: ['Host', 'h', 'Date', date, 'Authorization', authorization], vhostBucket }, findUser, at);
    assert.equal(v2(`AWS ${AK}:bWq2s1WEIj+Ydj0vQ697zp+IXMU=`, 'johnsmith').user, user);
    assert.equal(v2(`AWS ${AK}:bWq2s1WEIj+Ydj0vQ697zp+IXMU=`, undefined, '/johnsmith/photos/puppy.jpg').kind, 'header');
    assert.equal(failure(() => v2(`AWS ${AK}:bWq2s1WEIj+Ydj0vQ697zp+IXMX=`, 'johnsmith')).code, 'SignatureDoesNotMatch');
    assert.equal(failure(() => v2('AWS NOSUCHKEY:bWq2s1WEIj+Ydj0vQ697zp+IXMU=', 'johnsmith')).code, 'InvalidAccessKeyId');
    const query = `/johnsmith/photos/puppy.jpg?AWSAccessKeyId=${AK}&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D`;
    const q = (t: number, url = query) => authenticate({ method: 'GET', url, rawHeaders: ['Host', 'h'] }, findUser, t);
    assert.equal(q(1175139620 * 1000 - 1000).kind, 'presigned');
    assert.equal(failure(() => q(1175139620 * 1000 + 1000)).message, 'Request has expired');
    assert.equal(failure(() => q(0, query.replace('puppy', 'kitty'))).code, 'SignatureDoesNotMatch');
    assert.equal(failure(() => run({ host: 'h', authorization: 'AWS4-ECDSA-P256-SHA256 Credential=x' })).code, 'NotImplemented');
    const presigned = new URL(presignUrl({ method: 'GET', url, expires: 60, credentials: creds, date: new Date(now) }));
    const both = failure(() => run(sign(), now, presigned.pathname + presigned.search));
    assert.equal(both.code, 'InvalidArgument');
    assert.match(both.message, /^Only one auth mechanism allowed/);
  });
});

describe('presigned errors', () => {
  const now = Date.UTC(2025, 5, 1, 12, 0, 0);
  const url = new URL('http://s3.local/bucket/key?versionId=3');
  const presign = (expires: number, at = now) => new URL(presignUrl({ method: 'GET', url, expires, credentials: creds, date: new Date(at) }));
  const run = (u: URL, at = now) => authenticate(req('GET', u.pathname + u.search, { host: u.host }), findUser, at);

  test('X-Amz-Expires outside 1..604800', () => {
    assert.equal(run(presign(604800)).kind, 'presigned');
    for (const bad of [604801, 0]) assert.equal(failure(() => run(presign(bad))).code, 'AuthorizationQueryParametersError', String(bad));
    const u = presign(60);
    u.search = u.search.replace('X-Amz-Expires=60', 'X-Amz-Expires=abc');
    assert.equal(failure(() => run(u)).code, 'AuthorizationQueryParametersError');
  });

  test('tampered query, missing parameter, unknown key', () => {
    const u = presign(60);
    u.search = u.search.replace('versionId=3', 'versionId=4');
    assert.equal(failure(() => run(u)).code, 'SignatureDoesNotMatch');
    const v = presign(60);
    v.searchParams.delete('X-Amz-Date');
    assert.equal(failure(() => run(v)).code, 'AuthorizationQueryParametersError');
    const w = new URL(presignUrl({ method: 'GET', url, expires: 60, credentials: { accessKey: 'NOPE', secretKey: 'x' }, date: new Date(now) }));
    assert.equal(failure(() => run(w)).code, 'InvalidAccessKeyId');
  });

  test('an URL signed hours ago is still valid within X-Amz-Expires', () => {
    assert.equal(run(presign(86400, now - 5 * 3_600_000)).kind, 'presigned');
  });
});
