/**
 * Records the Rhizome Direct vectors in test/vectors/direct from a real Serval DNA daemon.
 *
 *   SERVALD=/path/to/servald PORT_BASE=4540 node --import tsx scripts/record-direct-vectors.ts
 *
 * It needs a servald binary built from servalproject/serval-dna (this script does not build it)
 * and ten free loopback ports from PORT_BASE. Every store is made of the fixture bundles of
 * test/helpers/direct-fixtures.ts (fixed keys, signed here), imported into a fresh instance with
 * POST /rhizome/import, so the tests can build the same stores in Tendril. It records:
 *
 *   sessions/sync/    every exchange of `servald rhizome direct sync` (client store syncClient,
 *                     server store syncServer), through a recording proxy
 *   sessions/rounds/  the same for `rhizome direct pull` with 2,600 bundles on the client
 *   cap/              one enquiry to a server with more bundles in the window than it lists
 *   probe/            single requests to a server holding syncServer: imports of each status,
 *                     manifestbyprefix, file with Range, enquiries at their edges
 *   list/             GET /restful/rhizome/bundlelist.json of 1,000 imported bundles
 *
 * Each exchange is NN_name.request (the exact bytes sent) and NN_name.http (the exact bytes
 * received until the server closed); index.json lists them in order.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIRECT_STORES, fixtureBundle, type FixtureBundle } from '../test/helpers/direct-fixtures.js';

const SERVALD = process.env.SERVALD ?? '/work/ref/serval-dna/servald';
const PORT_BASE = Number(process.env.PORT_BASE ?? 4540);
const OUT = fileURLToPath(new URL('../test/vectors/direct/', import.meta.url));
const BOUNDARY = 'TeNdRiLvEcToRs42';
const HARRY = `Basic ${Buffer.from('harry:potter').toString('base64')}`;

class Instance {
  readonly dir = mkdtempSync(join(tmpdir(), 'servald-vectors-'));
  constructor(readonly port: number) {
    this.run('config', 'set', 'api.restful.users.harry.password', 'potter', 'set', 'rhizome.http.port', String(port));
  }
  run(...args: string[]): string {
    const r = spawnSync(SERVALD, args, { env: { ...process.env, SERVALINSTANCE_PATH: this.dir }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`servald ${args.join(' ')}: ${r.status} ${r.stderr}`);
    return r.stdout;
  }
  /** Starts the daemon and waits until its HTTP server answers. */
  async start(): Promise<void> {
    this.run('start');
    for (let i = 0; i < 100; i++) {
      const answer = await exchange(this.port, get('/rhizome/manifestbyprefix/00')).catch(() => Buffer.alloc(0));
      if (answer.length > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`servald on port ${this.port} does not answer`);
  }
  /** Stops the daemon (if it runs) and removes the instance. */
  stop(): void {
    spawnSync(SERVALD, ['stop'], { env: { ...process.env, SERVALINSTANCE_PATH: this.dir } });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Sends `request` on a connection of its own; resolves with every byte received until close. */
function exchange(port: number, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Not end(): servald takes a half-closed connection for a client that went away.
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}

function form(parts: ReadonlyArray<{ name: string; filename?: string; body: Buffer }>): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    const filename = p.filename === undefined ? '' : `; filename="${p.filename}"`;
    out.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${p.name}"${filename}\r\nContent-Type: application/octet-stream\r\n\r\n`), p.body, Buffer.from('\r\n'));
  }
  out.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(out);
}

function post(path: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`POST ${path} HTTP/1.0\r\nContent-Length: ${body.length}\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\n\r\n`), body]);
}

function get(path: string, headers = ''): Buffer {
  return Buffer.from(`GET ${path} HTTP/1.0\r\n${headers}\r\n`);
}

const importOf = (b: FixtureBundle): Buffer => post('/rhizome/import', form([{ name: 'manifest', filename: 'm', body: b.manifest }, { name: 'data', filename: 'd', body: b.payload }]));
const enquiryOf = (data: Buffer): Buffer => post('/rhizome/enquiry', form([{ name: 'data', filename: 'IHAVEs', body: data }]));

async function fill(instance: Instance, bundles: readonly FixtureBundle[]): Promise<void> {
  for (const b of bundles) {
    const answer = await exchange(instance.port, importOf(b));
    if (!answer.subarray(0, 12).toString().endsWith('201')) throw new Error(`import of ${b.label}: ${answer.subarray(0, 60).toString()}`);
  }
}

interface Entry {
  readonly file: string;
  readonly note: string;
}

class Group {
  readonly entries: Entry[] = [];
  constructor(readonly dir: string) {
    rmSync(join(OUT, dir), { recursive: true, force: true });
    mkdirSync(join(OUT, dir), { recursive: true });
  }
  save(name: string, request: Buffer, response: Buffer, note = ''): void {
    const file = `${String(this.entries.length).padStart(2, '0')}_${name}`;
    writeFileSync(join(OUT, this.dir, `${file}.request`), request);
    writeFileSync(join(OUT, this.dir, `${file}.http`), response);
    this.entries.push({ file, note });
  }
  async record(port: number, name: string, request: Buffer, note = ''): Promise<Buffer> {
    const response = await exchange(port, request);
    this.save(name, request, response, note);
    return response;
  }
  done(extra: Record<string, unknown> = {}): void {
    writeFileSync(join(OUT, this.dir, 'index.json'), `${JSON.stringify({ ...extra, exchanges: this.entries }, null, 2)}\n`);
  }
}

/** A proxy that records every connection through it as one exchange of `group`. */
function recordingProxy(port: number, target: number, group: Group): Promise<Server> {
  const server = createServer((client) => {
    if (process.env.DEBUG_PROXY) console.log('proxy: connection');
    const upstream = connect(target, '127.0.0.1');
    const sent: Buffer[] = [];
    const received: Buffer[] = [];
    client.on('data', (c: Buffer) => {
      sent.push(c);
      upstream.write(c);
    });
    upstream.on('data', (c: Buffer) => {
      received.push(c);
      client.write(c);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => {
      const request = Buffer.concat(sent);
      const line = request.subarray(0, request.indexOf('\r\n')).toString('latin1');
      const name = line.split(' ')[1]!.split('/')[2]!;
      group.save(name, request, Buffer.concat(received));
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

async function session(name: string, mode: string, client: readonly FixtureBundle[], server: readonly FixtureBundle[], ports: [number, number, number]): Promise<void> {
  const [serverPort, clientPort, proxyPort] = ports;
  const s = new Instance(serverPort);
  const c = new Instance(clientPort);
  await s.start();
  await c.start();
  try {
    await fill(s, server);
    await fill(c, client);
    // The client's daemon is stopped: `rhizome direct` runs in the CLI process on its own store.
    spawnSync(SERVALD, ['stop'], { env: { ...process.env, SERVALINSTANCE_PATH: c.dir } });
    const group = new Group(`sessions/${name}`);
    const proxy = await recordingProxy(proxyPort, serverPort, group);
    // Asynchronously: the proxy runs in this process.
    await new Promise<void>((resolve, reject) => {
      const child = spawn(SERVALD, ['rhizome', 'direct', mode, `http://127.0.0.1:${proxyPort}`], { env: { ...process.env, SERVALINSTANCE_PATH: c.dir }, stdio: 'ignore' });
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`rhizome direct ${mode} exited with ${code}`))));
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    proxy.close();
    group.done({ mode, client: `DIRECT_STORES.${name}Client`, server: `DIRECT_STORES.${name}Server` });
    console.log(`session ${name}: ${group.entries.length} exchanges`);
  } finally {
    s.stop();
    c.stop();
  }
}

const hex = (b: Buffer): string => b.toString('hex').toUpperCase();

async function probe(port: number): Promise<void> {
  const s = new Instance(port);
  await s.start();
  try {
    const server = DIRECT_STORES.syncServer();
    await fill(s, server);
    const g = new Group('probe');
    const byLabel = new Map(server.map((b) => [b.label, b]));
    const s6 = byLabel.get('s6')!;
    const s6hash = hex((await import('node:crypto')).createHash('sha512').update(s6.payload).digest());

    // Imports, one of each answer.
    const fresh = fixtureBundle('p1', { size: 77 });
    await g.record(port, 'import_new', importOf(fresh), '201 new');
    await g.record(port, 'import_same', importOf(fresh), '200 same');
    await g.record(port, 'import_old', importOf(fixtureBundle('ver2', { size: 210, version: 1_700_000_000_000n })), '202 older than stored');
    const badSig = Buffer.from(fixtureBundle('p2', { size: 50 }).manifest);
    badSig[badSig.length - 40]! ^= 1;
    await g.record(port, 'import_bad_signature', post('/rhizome/import', form([{ name: 'manifest', body: badSig }, { name: 'data', body: fixtureBundle('p2', { size: 50 }).payload }])), '422 invalid');
    const p3 = fixtureBundle('p3', { size: 50 });
    const wrong = Buffer.from(p3.payload);
    wrong[3]! ^= 1;
    await g.record(port, 'import_wrong_hash', post('/rhizome/import', form([{ name: 'manifest', body: p3.manifest }, { name: 'data', body: wrong }])), '422 inconsistent');
    await g.record(port, 'import_garbage_manifest', post('/rhizome/import', form([{ name: 'manifest', body: Buffer.from('hello') }, { name: 'data', body: p3.payload }])), '422 invalid');
    await g.record(port, 'import_empty_manifest', post('/rhizome/import', form([{ name: 'manifest', body: Buffer.alloc(0) }, { name: 'data', body: p3.payload }])), '422 invalid');
    await g.record(port, 'import_huge_manifest', post('/rhizome/import', form([{ name: 'manifest', body: Buffer.alloc(9000, 0x41) }, { name: 'data', body: p3.payload }])), '422 invalid');
    await g.record(port, 'import_no_manifest', post('/rhizome/import', form([{ name: 'data', body: p3.payload }])), '400');
    await g.record(port, 'import_no_data', post('/rhizome/import', form([{ name: 'manifest', body: p3.manifest }])), '400');
    const empty = fixtureBundle('p4', { size: 0 });
    await g.record(port, 'import_empty_bundle_no_data', post('/rhizome/import', form([{ name: 'manifest', body: empty.manifest }])), '400 even for an empty bundle');
    await g.record(port, 'import_empty_bundle_with_bytes', post('/rhizome/import', form([{ name: 'manifest', body: empty.manifest }, { name: 'data', body: Buffer.from('ignored') }])), '201: the bytes are ignored');
    const p5 = fixtureBundle('p5', { size: 60 });
    await g.record(port, 'import_payload_part', post('/rhizome/import', form([{ name: 'manifest', body: p5.manifest }, { name: 'payload', body: p5.payload }])), '201: "payload" as the data part');
    const p6 = fixtureBundle('p6', { size: 61 });
    await g.record(port, 'import_extra_part', post('/rhizome/import', form([{ name: 'manifest', body: p6.manifest }, { name: 'data', body: p6.payload }, { name: 'other', body: Buffer.from('x') }])), '201: unknown parts ignored');
    await g.record(port, 'import_get', get('/rhizome/import'), '405');

    // Manifests by prefix.
    const s3 = byLabel.get('s3')!;
    await g.record(port, 'manifest_bid', get(`/rhizome/manifestbyprefix/${hex(s3.bid)}`), '200');
    await g.record(port, 'manifest_prefix15', get(`/rhizome/manifestbyprefix/${hex(s3.bid.subarray(0, 15))}`), '200');
    await g.record(port, 'manifest_prefix1_lower', get(`/rhizome/manifestbyprefix/${hex(s3.bid.subarray(0, 1)).toLowerCase()}`), '200');
    await g.record(port, 'manifest_odd', get(`/rhizome/manifestbyprefix/${hex(s3.bid.subarray(0, 2)).slice(0, 3)}`), '404');
    await g.record(port, 'manifest_too_long', get(`/rhizome/manifestbyprefix/${hex(s3.bid)}00`), '404');
    await g.record(port, 'manifest_unknown', get(`/rhizome/manifestbyprefix/${'00'.repeat(15)}`), '404');
    await g.record(port, 'manifest_empty', get('/rhizome/manifestbyprefix/'), '404');

    // Payloads by hash.
    await g.record(port, 'file_whole', get(`/rhizome/file/${s6hash}`), '200');
    await g.record(port, 'file_lower', get(`/rhizome/file/${s6hash.toLowerCase()}`), '200');
    await g.record(port, 'file_range_tail', get(`/rhizome/file/${s6hash}`, 'Range: bytes=99990-99999\r\n'), '206 OK');
    await g.record(port, 'file_range_open', get(`/rhizome/file/${s6hash}`, 'Range: bytes=50000-\r\n'), '206 OK');
    await g.record(port, 'file_range_suffix', get(`/rhizome/file/${s6hash}`, 'Range: bytes=-5\r\n'), '206 OK');
    await g.record(port, 'file_range_all', get(`/rhizome/file/${s6hash}`, 'Range: bytes=0-99999\r\n'), '200');
    await g.record(port, 'file_range_multi', get(`/rhizome/file/${s6hash}`, 'Range: bytes=0-1,5-6\r\n'), '501');
    await g.record(port, 'file_range_malformed', get(`/rhizome/file/${s6hash}`, 'Range: bytes=x\r\n'), '400');
    await g.record(port, 'file_unknown', get(`/rhizome/file/${'AB'.repeat(64)}`), '404 with the payload status');
    await g.record(port, 'file_bad_hash', get(`/rhizome/file/${s6hash}00`), '500');
    await g.record(port, 'file_post', post(`/rhizome/file/${s6hash}`, form([{ name: 'x', body: Buffer.from('1') }])), '405');

    // Enquiries at their edges.
    const whole = Buffer.from('0a000000003' + '1ffffffff', 'hex');
    await g.record(port, 'enquiry_empty_client', enquiryOf(whole), 'all of the server');
    await g.record(port, 'enquiry_short', enquiryOf(Buffer.from('0a0000', 'hex')), '500');
    await g.record(port, 'enquiry_empty_data', enquiryOf(Buffer.alloc(0)), '500');
    await g.record(port, 'enquiry_no_data', post('/rhizome/enquiry', form([{ name: 'other', body: whole }])), '400');
    await g.record(port, 'enquiry_payload_part', post('/rhizome/enquiry', form([{ name: 'payload', body: whole }])), '200');
    await g.record(port, 'enquiry_too_long', enquiryOf(Buffer.concat([whole, Buffer.alloc(65536 - 9)])), '500');
    await g.record(port, 'enquiry_get', get('/rhizome/enquiry'), '405');
    const { encodeBar } = await import('../src/formats/bar.js');
    const bar = (b: FixtureBundle, version = b.version): Buffer => encodeBar(b.bid, BigInt(b.payload.length), version);
    const sorted = [...server].sort((a, b) => Buffer.compare(a.bid, b.bid));
    const small = sorted.filter((b) => b.payload.length <= 1024);
    // The first bin only, as a client sends it: the server's own BARs there, one with another version.
    const firstBin = Buffer.concat([Buffer.from('0a000000000affffffff', 'hex'), ...small.map((b, i) => (i === 0 ? bar(b, b.version + 1n) : bar(b)))]);
    await g.record(port, 'enquiry_first_bin_one_newer', enquiryOf(firstBin), 'equal BARs draw nothing; another version draws both records');
    await g.record(port, 'enquiry_unknown_bars', enquiryOf(Buffer.concat([whole, bar(fixtureBundle('zz1', { size: 10 })), bar(fixtureBundle('zz2', { size: 3000 }))])), '0x01 for each BAR it lacks');
    await g.record(port, 'enquiry_bin_two', enquiryOf(Buffer.from('0b000000000bffffffff', 'hex')), 'one bin: 1025..2048');
    await g.record(port, 'enquiry_bid_window', enquiryOf(Buffer.concat([Buffer.from('0a', 'hex'), sorted[2]!.bid.subarray(0, 4), Buffer.from('31', 'hex'), sorted[6]!.bid.subarray(0, 4)])), 'a BID window across all bins');
    await g.record(port, 'enquiry_start_after_end', enquiryOf(Buffer.from('20000000000affffffff', 'hex')), 'a range whose start is past its end');
    await g.record(port, 'enquiry_tiny_bins', enquiryOf(Buffer.from('00000000000cffffffff', 'hex')), 'bins from size 1: small bundles listed again');
    await g.record(port, 'enquiry_partial_bar', enquiryOf(Buffer.concat([whole, bar(sorted[0]!).subarray(0, 20)])), 'a trailing partial BAR is ignored');
    // Last: Tendril answers these differently, and stores nothing where servald stores something.
    const p7 = fixtureBundle('p7', { size: 62 });
    await g.record(port, 'import_short_payload', post('/rhizome/import', form([{ name: 'manifest', body: p7.manifest }, { name: 'data', body: p7.payload.subarray(0, 20) }])), 'differs: servald 500, Tendril 422');
    const p8 = fixtureBundle('p8', { size: 63 });
    await g.record(port, 'import_long_payload', post('/rhizome/import', form([{ name: 'manifest', body: p8.manifest }, { name: 'data', body: Buffer.concat([p8.payload, Buffer.from('xx')]) }])), 'differs: servald 201 (extra bytes ignored), Tendril 422');
    const p9 = fixtureBundle('p9', { size: 64 });
    await g.record(port, 'import_data_first', post('/rhizome/import', form([{ name: 'data', body: p9.payload }, { name: 'manifest', body: p9.manifest }])), "differs: servald 201, Tendril 400 Missing 'manifest' part");
    g.done({ server: 'DIRECT_STORES.syncServer' });
    console.log(`probe: ${g.entries.length} exchanges`);
  } finally {
    s.stop();
  }
}

async function cap(port: number): Promise<void> {
  const s = new Instance(port);
  await s.start();
  try {
    await fill(s, DIRECT_STORES.capServer());
    const g = new Group('cap');
    await g.record(port, 'enquiry_empty_client', enquiryOf(Buffer.from('0a0000000031ffffffff', 'hex')), 'lists 4,095 of 4,200');
    g.done({ server: 'DIRECT_STORES.capServer' });
  } finally {
    s.stop();
  }
}

async function list(port: number): Promise<void> {
  const s = new Instance(port);
  await s.start();
  try {
    await fill(s, DIRECT_STORES.list());
    const g = new Group('list');
    await g.record(port, 'bundlelist', get('/restful/rhizome/bundlelist.json', `Authorization: ${HARRY}\r\n`), '1,000 rows');
    g.done({ store: 'DIRECT_STORES.list', note: 'inserttime and the tokens are those of the recording; rows newest first' });
  } finally {
    s.stop();
  }
}

const only = process.argv.slice(2);
const wanted = (name: string): boolean => only.length === 0 || only.includes(name);
if (wanted('sync')) await session('sync', 'sync', DIRECT_STORES.syncClient(), DIRECT_STORES.syncServer(), [PORT_BASE, PORT_BASE + 1, PORT_BASE + 2]);
if (wanted('rounds')) await session('rounds', 'pull', DIRECT_STORES.roundsClient(), DIRECT_STORES.roundsServer(), [PORT_BASE + 3, PORT_BASE + 4, PORT_BASE + 5]);
if (wanted('probe')) await probe(PORT_BASE + 6);
if (wanted('cap')) await cap(PORT_BASE + 7);
if (wanted('list')) await list(PORT_BASE + 8);
