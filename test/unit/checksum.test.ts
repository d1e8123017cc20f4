// Flexible checksums: check values, incremental hashing, CRC combination and the multipart formulas.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { Crc32c } from '@aws-crypto/crc32c';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';
import {
  algorithmFromHeaderName,
  checksumByteLength,
  checksumHeaderName,
  combineCrc,
  compositeChecksum,
  createHasher,
  isValidChecksumValue,
  parseAlgorithm,
} from '../../packages/core/src/checksum.js';
import type { ChecksumAlgorithm } from '../../packages/core/src/types.js';

const ALL: ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];
const CRCS = ['CRC32', 'CRC32C', 'CRC64NVME'] as const;

function digest(alg: ChecksumAlgorithm, ...chunks: Buffer[]): Buffer {
  const h = createHasher(alg);
  for (const c of chunks) h.update(c);
  return h.digest();
}

describe('check values (s3-wire §4.1)', () => {
  const table: Array<[ChecksumAlgorithm, string, string, string | undefined]> = [
    ['CRC32', 'y/Q5Jg==', 'AAAAAA==', 'cbf43926'],
    ['CRC32C', '4waSgw==', 'AAAAAA==', 'e3069283'],
    ['CRC64NVME', 'rosUhgp5mIg=', 'AAAAAAAAAAA=', 'ae8b14860a799888'],
    ['SHA1', '98O8HYCOBHMq32eZZczDTKeuNEE=', '2jmj7l5rSw0yVb/vlWAYkK/YBwk=', undefined],
    ['SHA256', 'FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=', '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=', undefined],
  ];
  for (const [alg, check, empty, hex] of table) {
    test(alg, () => {
      const d = digest(alg, Buffer.from('123456789'));
      assert.equal(d.toString('base64'), check);
      if (hex) assert.equal(d.toString('hex'), hex);
      assert.equal(digest(alg).toString('base64'), empty);
      assert.equal(digest(alg, Buffer.alloc(0)).toString('base64'), empty);
      assert.equal(d.length, checksumByteLength(alg));
    });
  }
  test('"hello" CRC32 is NhCmhg== (the trailer example of §3.3)', () => {
    assert.equal(digest('CRC32', Buffer.from('hello')).toString('base64'), 'NhCmhg==');
  });
});

describe('incremental hashing', () => {
  test('any split of the input, at any alignment, gives the whole-input digest', () => {
    const data = randomBytes(300_000);
    for (const alg of ALL) {
      const whole = digest(alg, data);
      for (const step of [1, 3, 7, 64, 65, 1000, 65536]) {
        const h = createHasher(alg);
        // Start at an odd offset so the word loops see unaligned views.
        h.update(data.subarray(0, 1));
        for (let i = 1; i < data.length; i += step) h.update(data.subarray(i, i + step));
        assert.ok(h.digest().equals(whole), `${alg} step ${step}`);
      }
    }
  });

  test('CRC32C and CRC64NVME agree with the AWS SDK packages', async () => {
    for (const size of [0, 1, 63, 64, 1000, 1 << 20]) {
      const data = randomBytes(size);
      const c = new Crc32c();
      c.update(data);
      const ref32c = Buffer.alloc(4);
      ref32c.writeUInt32BE(c.digest());
      assert.ok(digest('CRC32C', data).equals(ref32c), `CRC32C ${size}`);
      const n = new Crc64Nvme();
      n.update(data);
      assert.ok(digest('CRC64NVME', data).equals(Buffer.from(await n.digest())), `CRC64NVME ${size}`);
    }
  });
});

describe('CRC combination', () => {
  test('combine(crc(A), crc(B), len(B)) equals crc(A||B) for random splits', () => {
    for (const alg of CRCS) {
      for (let round = 0; round < 60; round++) {
        const data = randomBytes(Math.floor(Math.random() * 20_000));
        const cut = Math.floor(Math.random() * (data.length + 1));
        const a = data.subarray(0, cut);
        const b = data.subarray(cut);
        assert.ok(combineCrc(alg, digest(alg, a), digest(alg, b), b.length).equals(digest(alg, data)), `${alg} ${cut}/${data.length}`);
      }
    }
  });

  test('chained over many parts, with empty parts and a large length', () => {
    for (const alg of CRCS) {
      const parts = [randomBytes(5000), Buffer.alloc(0), randomBytes(1), randomBytes(70_000), Buffer.alloc(0)];
      let acc = digest(alg, parts[0]);
      for (const p of parts.slice(1)) acc = combineCrc(alg, acc, digest(alg, p), p.length);
      assert.ok(acc.equals(digest(alg, Buffer.concat(parts))), alg);
      // 5 GiB of zeros after "a": crc(zeros) is combinable too, and must not collapse to crc("a").
      const big = 5 * 1024 ** 3;
      assert.notDeepEqual(combineCrc(alg, digest(alg, Buffer.from('a')), digest(alg, Buffer.alloc(0)), big), digest(alg, Buffer.from('a')));
    }
  });

  test('combining with an empty part is the identity', () => {
    for (const alg of CRCS) {
      const a = digest(alg, Buffer.from('abc'));
      assert.ok(combineCrc(alg, a, digest(alg), 0).equals(a));
    }
  });
});

describe('multipart checksums (s3-wire §4.5)', () => {
  const part1 = Buffer.alloc(5 * 1024 * 1024, 'a');
  const part2 = Buffer.from('b');

  test('CRC32 composite dYPmEQ==-2 and full-object rBxv8Q==', () => {
    const d1 = digest('CRC32', part1);
    const d2 = digest('CRC32', part2);
    assert.equal(compositeChecksum('CRC32', [d1, d2]), 'dYPmEQ==-2');
    assert.equal(combineCrc('CRC32', d1, d2, part2.length).toString('base64'), 'rBxv8Q==');
    assert.equal(digest('CRC32', part1, part2).toString('base64'), 'rBxv8Q==');
  });

  test('composite is the checksum of the concatenated raw part digests', () => {
    for (const alg of ALL) {
      const d = [digest(alg, part2), digest(alg, Buffer.from('c')), digest(alg, Buffer.from('d'))];
      assert.equal(compositeChecksum(alg, d), `${digest(alg, Buffer.concat(d)).toString('base64')}-3`);
    }
    const sha = [createHash('sha256').update('x').digest()];
    assert.equal(compositeChecksum('SHA256', sha), `${createHash('sha256').update(sha[0]).digest('base64')}-1`);
  });
});

describe('names and values', () => {
  test('header names both ways', () => {
    for (const alg of ALL) {
      assert.equal(checksumHeaderName(alg), `x-amz-checksum-${alg.toLowerCase()}`);
      assert.equal(algorithmFromHeaderName(checksumHeaderName(alg)), alg);
      assert.equal(algorithmFromHeaderName(checksumHeaderName(alg).toUpperCase()), alg);
    }
    for (const other of ['x-amz-checksum-algorithm', 'x-amz-checksum-type', 'x-amz-checksum-mode', 'x-amz-checksum-md5', 'content-md5', 'crc32']) {
      assert.equal(algorithmFromHeaderName(other), undefined, other);
    }
  });

  test('parseAlgorithm', () => {
    assert.equal(parseAlgorithm('crc32'), 'CRC32');
    assert.equal(parseAlgorithm('Crc64Nvme'), 'CRC64NVME');
    assert.equal(parseAlgorithm('SHA256'), 'SHA256');
    assert.equal(parseAlgorithm('md5'), undefined);
    assert.equal(parseAlgorithm(''), undefined);
    assert.equal(parseAlgorithm(undefined), undefined);
  });

  test('isValidChecksumValue wants canonical base64 of the right length', () => {
    assert.ok(isValidChecksumValue('CRC32', 'y/Q5Jg=='));
    assert.ok(isValidChecksumValue('CRC64NVME', 'rosUhgp5mIg='));
    assert.ok(isValidChecksumValue('SHA256', '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='));
    for (const [alg, bad] of [['CRC32', 'y/Q5Jg='], ['CRC32', 'y/Q5Jh=='], ['CRC32', 'y_Q5Jg=='], ['CRC32', ''], ['CRC32', 'cbf43926'], ['CRC32C', 'rosUhgp5mIg='], ['SHA1', 'y/Q5Jg=='], ['CRC32', ' y/Q5Jg==']] as const) {
      assert.equal(isValidChecksumValue(alg, bad), false, `${alg} ${bad}`);
    }
  });
});
