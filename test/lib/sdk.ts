// The AWS SDK for JavaScript v3 as the tests configure it: only endpoint, region, path style and
// credentials set, everything else at the SDK's defaults.
import assert from 'node:assert/strict';
import { S3Client, S3ServiceException, type S3ClientConfig } from '@aws-sdk/client-s3';
import { ROOT_KEY } from './gateway.js';

// The SDK warns that its 2027 releases need Node 22; that is about the SDK, not the gateway.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** An S3 client for a gateway endpoint, signing as `key`, with `extra` settings on top. */
export function s3Client(endpoint: string, key: { accessKey: string; secretKey: string } = ROOT_KEY, extra: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    endpoint, region: 'us-east-1', forcePathStyle: true,
    credentials: { accessKeyId: key.accessKey, secretAccessKey: key.secretKey }, ...extra,
  });
}

/** The service error a call fails with (the test fails if the call succeeds). */
export async function serviceError(p: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof S3ServiceException, `expected a service error, got ${String(e)}`);
    return e;
  }
  assert.fail('the call succeeded');
}
