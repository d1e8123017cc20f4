// QingStor addressing: zone and bucket from the Host, bucket and key from the raw path, as the SDKs send them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isGatewayError } from '@twinport/core';
import { addressError, resolveAddress, type Address, type AddressingConfig } from '../../packages/protocol-qingstor/src/addressing.js';
import { toQsError } from '../../packages/protocol-qingstor/src/errors.js';

const CFG: AddressingConfig = { domain: 'qingstor.local', zones: ['pek3a', 'sh1a', 'gd2'], defaultZone: 'pek3a' };

/** The address fields a controller uses. */
function where(host: string | undefined, url: string, cfg = CFG): Partial<Address> | { kind: string } {
  const a = resolveAddress(host, url, cfg);
  if (a.kind !== 'address') return a;
  return { zone: a.zone, zoneGiven: a.zoneGiven, bucket: a.bucket, key: a.key, virtualHost: a.virtualHost };
}

describe('Host forms', () => {
  test('<zone>.<domain>: that zone, path style', () => {
    assert.deepEqual(where('sh1a.qingstor.local:9001', '/mybucket/photos/my%20cat.jpg'), { zone: 'sh1a', zoneGiven: true, bucket: 'mybucket', key: 'photos/my cat.jpg', virtualHost: false });
    assert.deepEqual(where('SH1A.QingStor.Local', '/mybucket'), { zone: 'sh1a', zoneGiven: true, bucket: 'mybucket', key: undefined, virtualHost: false });
    assert.deepEqual(where('gd2.qingstor.local', '/'), { zone: 'gd2', zoneGiven: true, bucket: undefined, key: undefined, virtualHost: false });
  });

  test('<bucket>.<zone>.<domain>: virtual host', () => {
    assert.deepEqual(where('mybucket.pek3a.qingstor.local:9001', '/'), { zone: 'pek3a', zoneGiven: true, bucket: 'mybucket', key: undefined, virtualHost: true });
    assert.deepEqual(where('mybucket.pek3a.qingstor.local', '/dir/a%20b.txt?acl'), { zone: 'pek3a', zoneGiven: true, bucket: 'mybucket', key: 'dir/a b.txt', virtualHost: true });
    // S3 allows dotted bucket names; they still parse in front of a zone.
    assert.deepEqual(where('my.dotted.bucket.sh1a.qingstor.local', '/k'), { zone: 'sh1a', zoneGiven: true, bucket: 'my.dotted.bucket', key: 'k', virtualHost: true });
  });

  test('bare domain, IP address, localhost, or a foreign name: default zone, path style', () => {
    const expected = { zone: 'pek3a', zoneGiven: false, bucket: 'b-123456', key: 'k', virtualHost: false };
    for (const host of ['qingstor.local', 'qingstor.local:9001', '127.0.0.1:9001', '10.1.2.3', 'localhost:9001', '[::1]:9001', 'gateway.internal.example', undefined]) {
      assert.deepEqual(where(host, '/b-123456/k'), expected, String(host));
    }
  });

  test('<zone>.<ip> and <zone>.localhost: what the SDK sends when pointed at an address', () => {
    assert.deepEqual(where('pek3a.127.0.0.1:18081', '/mybucket/k'), { zone: 'pek3a', zoneGiven: true, bucket: 'mybucket', key: 'k', virtualHost: false });
    assert.deepEqual(where('mybucket.sh1a.127.0.0.1', '/k'), { zone: 'sh1a', zoneGiven: true, bucket: 'mybucket', key: 'k', virtualHost: true });
    assert.deepEqual(where('gd2.localhost:9001', '/mybucket'), { zone: 'gd2', zoneGiven: true, bucket: 'mybucket', key: undefined, virtualHost: false });
  });

  test('<bucket>.<domain>: bucket known, zone not (answered later with a redirect)', () => {
    assert.deepEqual(where('mybucket.qingstor.local:9001', '/'), { zone: undefined, zoneGiven: false, bucket: 'mybucket', key: undefined, virtualHost: true });
    assert.deepEqual(where('mybucket.qingstor.local', '/a/b'), { zone: undefined, zoneGiven: false, bucket: 'mybucket', key: 'a/b', virtualHost: true });
  });

  test('a zone-like label that is not configured: unknown-zone, rendered as invalid_location', () => {
    assert.deepEqual(where('pek9z.qingstor.local', '/mybucket'), { kind: 'unknown-zone', zone: 'pek9z' });
    assert.deepEqual(where('mybucket.ap2a.qingstor.local', '/k'), { kind: 'unknown-zone', zone: 'ap2a', bucket: 'mybucket' });
    const p = resolveAddress('sh2a.127.0.0.1', '/', CFG);
    assert.equal(p.kind, 'unknown-zone');
    const qs = toQsError(addressError(p));
    assert.deepEqual([qs.code, qs.status], ['invalid_location', 400]);
    assert.match(qs.message, /sh2a/);
  });

  test('labels that are neither zone nor bucket: bad-host, rendered as invalid_bucket_name', () => {
    for (const host of ['under_score.qingstor.local', '-x-.pek3a.qingstor.local', 'a..b.qingstor.local']) {
      const p = resolveAddress(host, '/', CFG);
      assert.equal(p.kind, 'bad-host', host);
      assert.equal(toQsError(addressError(p)).code, 'invalid_bucket_name');
    }
  });
});

describe('keys from the raw path', () => {
  test('percent-decoded once; the JS SDK escapes / as %2F inside the key', () => {
    assert.equal((resolveAddress('pek3a.qingstor.local', '/b/photos%2Fmy%20cat.jpg?', CFG) as Address).key, 'photos/my cat.jpg');
    assert.equal((resolveAddress('pek3a.qingstor.local', '/b/%E4%B8%AD%E6%96%87/%F0%9F%98%80', CFG) as Address).key, '中文/😀');
    assert.equal((resolveAddress('pek3a.qingstor.local', "/b/x%21%27%28%29%2a.txt", CFG) as Address).key, "x!'()*.txt");
    // `+` is a literal plus in a path; `%2541` decodes once to `%41`.
    assert.equal((resolveAddress('pek3a.qingstor.local', '/b/a+b%2B%2541', CFG) as Address).key, 'a+b+%41');
  });

  test('empty segments, dots and trailing slashes survive', () => {
    assert.equal((resolveAddress(undefined, '/b/a//b/./../c/', CFG) as Address).key, 'a//b/./../c/');
    assert.equal((resolveAddress(undefined, '/b/', CFG) as Address).key, undefined);
    assert.equal((resolveAddress('mybucket.pek3a.qingstor.local', '//x', CFG) as Address).key, '/x');
  });

  test('query parameters are decoded, + read as space, bare names map to empty', () => {
    const a = resolveAddress(undefined, '/b?prefix=a%20b+c&delimiter=%2F&uploads&limit=2&limit=3', CFG) as Address;
    assert.deepEqual([...a.query], [['prefix', 'a b c'], ['delimiter', '/'], ['uploads', ''], ['limit', '2']]);
    assert.equal(a.rawQuery, 'prefix=a%20b+c&delimiter=%2F&uploads&limit=2&limit=3');
    assert.equal(a.rawPath, '/b');
  });

  test('absolute-form targets (from proxies) are read by their path', () => {
    assert.deepEqual(where('pek3a.qingstor.local', 'http://pek3a.qingstor.local:9001/b/k?acl'), { zone: 'pek3a', zoneGiven: true, bucket: 'b', key: 'k', virtualHost: false });
  });

  test('bad escapes, invalid UTF-8 and non-path targets: InvalidURI (invalid_request)', () => {
    for (const url of ['/b/%zz', '/b/%C3', '/b/%FF%FE', '*', '/b?x=%E4']) {
      assert.throws(() => resolveAddress(undefined, url, CFG), (e) => isGatewayError(e) && e.code === 'InvalidURI' && toQsError(e).code === 'invalid_request', url);
    }
  });

  test('base host and port are reported for building redirects', () => {
    const a = resolveAddress('mybucket.qingstor.local:9001', '/', CFG) as Address;
    assert.deepEqual([a.baseHost, a.port], ['qingstor.local', '9001']);
    const b = resolveAddress('pek3a.127.0.0.1:18081', '/', CFG) as Address;
    assert.deepEqual([b.baseHost, b.port], ['127.0.0.1', '18081']);
  });
});
