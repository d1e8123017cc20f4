// The boto3 guide flow, with the current boto3 of the machine's python3 and with Debian's older
// python3-boto3 (the system interpreter), against a gateway started here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startGateway, ROOT_KEY, type TestGateway } from '../lib/gateway.js';

const SCRIPT = new URL('./boto3_flow.py', import.meta.url).pathname;
let gw: TestGateway;
before(async () => { gw = await startGateway(); });
after(async () => { await gw.stop(); });

function hasBoto3(python: string): boolean {
  return (python === 'python3' || existsSync(python)) && spawnSync(python, ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0;
}

for (const [label, python, bucket] of [['current boto3 (python3)', 'python3', 'boto3-current'], ['Debian python3-boto3 (/usr/bin/python3)', '/usr/bin/python3', 'boto3-debian']] as const) {
  test(`boto3 guide flow: ${label}`, () => {
    assert.ok(hasBoto3(python), `${python} with boto3 is required (bash .ci/run installs it)`);
    const r = spawnSync(python, [SCRIPT], { env: { ...process.env, ENDPOINT: gw.endpoint, BUCKET: bucket, ACCESS_KEY: ROOT_KEY.accessKey, SECRET_KEY: ROOT_KEY.secretKey, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' }, encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, `boto3 flow failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /boto3 flow passed/);
  });
}
