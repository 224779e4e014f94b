/**
 * Memory stays bounded whatever the payload size: a payload is inserted over HTTP into a node
 * running as its own process and downloaded again, both streamed (the test never holds it either:
 * it is generated while sent and hashed on the way), while the node's RSS is sampled from
 * /proc/PID/status every 50 ms. The hash must round-trip and the peak RSS stay under 200 MB.
 *
 * The full 1 GiB runs in the suite: it takes some 12 s on a 2-core machine (about 135 MiB/s up,
 * most of it hashing on both sides, and 1 GiB written to the instance's temporary directory).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { sampleRss, spawnNode } from '../helpers/child-node.js';
import { HARRY, makeInstance } from '../helpers/node.js';
import { manifestFields, MANIFEST_TYPE } from '../helpers/rhizome.js';
import { generatedPayload, multipartLength, multipartStream, postStream } from '../helpers/rhizome-wire.js';

const MiB = 1024 * 1024;
const LIMIT = 200 * 1000 * 1000;

function download(port: number, path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port, path, headers: { Authorization: HARRY }, agent: false }, resolve).on('error', reject);
  });
}

async function roundTrip(size: number, diagnostic: (message: string) => void): Promise<void> {
  const paths = makeInstance();
  const node = await spawnNode(paths);
  try {
    const idle = sampleRss(node.pid).stop();
    const upload = sampleRss(node.pid);
    const sent = createHash('sha512');
    const payload = function* (): Generator<Buffer> {
      for (const chunk of generatedPayload(size, 1)) {
        sent.update(chunk);
        yield chunk;
      }
    };
    const manifest = 'name=big.bin\n';
    const parts = [
      { name: 'manifest', contentType: MANIFEST_TYPE, body: manifest },
      { name: 'payload', filename: 'big.bin', body: payload() },
    ];
    let started = performance.now();
    const r = await postStream(node.port, '/restful/rhizome/insert', multipartStream(parts), {
      contentLength: multipartLength([
        { name: 'manifest', contentType: MANIFEST_TYPE, size: manifest.length },
        { name: 'payload', filename: 'big.bin', size },
      ]),
    });
    const uploadSeconds = (performance.now() - started) / 1000;
    const uploadPeak = upload.stop();
    assert.equal(r.status, 201, r.body.toString());
    const hash = sent.digest('hex').toUpperCase();
    const f = manifestFields(r.body);
    assert.equal(f.get('filesize'), String(size));
    assert.equal(f.get('filehash'), hash, 'the filehash is the SHA-512 of what was sent');

    const downloadRss = sampleRss(node.pid);
    started = performance.now();
    const res = await download(node.port, `/restful/rhizome/${f.get('id')}/raw.bin`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-length'], String(size));
    const received = createHash('sha512');
    let length = 0;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      received.update(chunk);
      length += chunk.length;
    }
    const downloadSeconds = (performance.now() - started) / 1000;
    const downloadPeak = downloadRss.stop();
    assert.equal(length, size);
    assert.equal(received.digest('hex').toUpperCase(), hash, 'the download hashes to what was sent');

    const mb = (n: number): string => (n / 1e6).toFixed(1);
    diagnostic(`${size / MiB} MiB: idle RSS ${mb(idle)} MB; peak ${mb(uploadPeak)} MB uploading (${(size / MiB / uploadSeconds).toFixed(0)} MiB/s), ${mb(downloadPeak)} MB downloading (${(size / MiB / downloadSeconds).toFixed(0)} MiB/s)`);
    assert.ok(uploadPeak < LIMIT, `peak RSS while uploading ${mb(uploadPeak)} MB`);
    assert.ok(downloadPeak < LIMIT, `peak RSS while downloading ${mb(downloadPeak)} MB`);
  } finally {
    await node.stop();
    rmSync(paths.root, { recursive: true, force: true });
  }
}

void describe('Rhizome payloads in bounded memory (node RSS)', () => {
  void it('1 GiB in and out: the hash round-trips, RSS stays under 200 MB', { timeout: 180_000 }, async (t) => {
    await roundTrip(1024 * MiB, (m) => t.diagnostic(m));
  });
});
