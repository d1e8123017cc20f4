// The reference servers the gateway is compared with: the least a Node HTTP server can do to store
// and serve objects on the same disk. No auth, no metadata, whole-object GET only.
//   node bench/reference-server.mjs <dir> raw|md5|md5-fsync
// "md5" also hashes every PUT body while it streams and returns the digest as the ETag: the CPU any
// S3 server computing ETags has to spend. "md5-fsync" is "md5" plus an fsync of the file before the
// response, as the gateway makes every acknowledged write durable; the other two never flush.
// Plain JavaScript on purpose: run without a TypeScript loader, its RSS is that of a bare Node server,
// which is the baseline the gateway's memory is compared with.
import { createServer } from 'node:http';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pipeline } from 'node:stream';

const [dir, mode] = process.argv.slice(2);
if (!dir || !['raw', 'md5', 'md5-fsync'].includes(mode)) {
  console.error('usage: reference-server.mjs <dir> raw|md5|md5-fsync');
  process.exit(2);
}
const withMd5 = mode !== 'raw';
const durable = mode === 'md5-fsync';

// One flat directory; encodeURIComponent keeps distinct URLs distinct and out of `..` territory.
function fileOf(url) {
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).replace(/^\/+/, '');
  return join(dir, encodeURIComponent(path) || '_');
}

function fail(res, status) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-length': 0, connection: 'close' });
  res.end();
}

const server = createServer((req, res) => {
  const file = fileOf(req.url ?? '/');
  if (req.method === 'PUT') {
    const hash = withMd5 ? createHash('md5') : undefined;
    if (hash) req.on('data', (chunk) => hash.update(chunk));
    // `flush` fsyncs before the close that pipeline waits for: the way the gateway's disk driver does it.
    pipeline(req, createWriteStream(file, { flush: durable }), (err) => {
      if (err) return fail(res, 500);
      const headers = { 'content-length': 0 };
      if (hash) headers.etag = `"${hash.digest('hex')}"`;
      res.writeHead(200, headers);
      res.end();
    });
  } else if (req.method === 'GET') {
    req.resume();
    stat(file).then(
      (st) => {
        res.writeHead(200, { 'content-length': st.size, 'content-type': 'application/octet-stream' });
        pipeline(createReadStream(file), res, () => {});
      },
      (err) => fail(res, err.code === 'ENOENT' ? 404 : 500),
    );
  } else {
    req.resume();
    fail(res, 405);
  }
});

server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'listening', port: server.address().port, mode }));
});
// The bench holds our stdin open; when it goes away (even killed outright), so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
