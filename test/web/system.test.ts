/**
 * GET /restful/system over HTTP: credentials required; every field present with its type; host
 * facts that agree with node:os; node facts that follow the store, the keyring and the web servers;
 * and nothing in the body that is a secret.
 */
import assert from 'node:assert/strict';
import { readFileSync, statfsSync } from 'node:fs';
import { availableParallelism, cpus, hostname, release, uptime } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { buildConfig } from '../../src/config/config.js';
import { readConfigFile } from '../../src/config/file.js';
import { TEST_PIN_KEY_PARAMS } from '../../src/crypto/pin-key.js';
import { silentLogger } from '../../src/log.js';
import { startNode } from '../../src/node/node.js';
import { startDedicatedServer } from '../../src/web/dedicated.js';
import { makeInstance, request, startTestNode, type TestNode } from '../helpers/node.js';
import { insert } from '../helpers/rhizome.js';

interface SystemBody {
  http_status_code: number;
  system: Record<string, unknown>;
  node: {
    version: string;
    instance: string;
    started_at: string;
    bundles: number;
    store_bytes: number;
    unlocked_identities: number;
    web_servers: Array<{ mode: string; url: string; dedicated: boolean; serve: string[] }>;
    event_loop_delay: { window_seconds: number; mean_ms: number; p50_ms: number; p99_ms: number; max_ms: number };
    sync: Record<string, number>;
  };
}

const SYSTEM_TYPES: Record<string, string> = {
  hostname: 'string',
  uptime: 'string',
  uptime_seconds: 'integer',
  systime: 'date',
  used_memory_percent: 'percent',
  used_disk_percent: 'percent|null',
  processor_count: 'integer',
  load_average_1min: 'number',
  system_load_percent: 'number',
  temperature_celsius: 'number|null',
  operating_system: 'string',
  kernel_version: 'string',
};

const NODE_TYPES: Record<string, string> = {
  version: 'string',
  instance: 'string',
  started_at: 'date',
  bundles: 'integer',
  store_bytes: 'integer',
  unlocked_identities: 'integer',
  web_servers: 'array',
  event_loop_delay: 'delay',
  sync: 'sync',
  security: 'security',
};

/** The figures of node.security (issue 14): every one a count. */
const SECURITY_KEYS = [
  'authentications_refused', 'clients', 'connections', 'connections_refused', 'failed_authentications', 'long_polls',
  'long_polls_refused', 'pin_attempts_refused', 'pin_derivations_waiting', 'waiting_clients', 'wrong_pins',
];

function typeOk(value: unknown, expected: string): boolean {
  return expected.split('|').some((t) => {
    switch (t) {
      case 'null':
        return value === null;
      case 'string':
        return typeof value === 'string' && value !== '';
      case 'integer':
        return Number.isInteger(value) && (value as number) >= 0;
      case 'number':
        return typeof value === 'number' && Number.isFinite(value);
      case 'percent':
        return typeof value === 'number' && value >= 0 && value <= 100;
      case 'date':
        return typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value) && !Number.isNaN(Date.parse(value));
      case 'array':
        return Array.isArray(value);
      case 'delay': {
        const keys = ['max_ms', 'mean_ms', 'p50_ms', 'p99_ms', 'window_seconds'];
        const delay = value as Record<string, unknown>;
        return typeof value === 'object' && value !== null && Object.keys(delay).sort().join() === keys.join() && keys.every((k) => typeof delay[k] === 'number' && delay[k] >= 0);
      }
      case 'sync': {
        const keys = ['bundles_in', 'bundles_out', 'bytes_in', 'bytes_out', 'links_up', 'peers_configured', 'rejected', 'sessions'];
        const sync = value as Record<string, unknown>;
        return typeof value === 'object' && value !== null && Object.keys(sync).sort().join() === keys.join() && keys.every((k) => Number.isInteger(sync[k]) && (sync[k] as number) >= 0);
      }
      case 'security': {
        const figures = value as Record<string, unknown>;
        return typeof value === 'object' && value !== null && Object.keys(figures).sort().join() === SECURITY_KEYS.join() && SECURITY_KEYS.every((k) => Number.isInteger(figures[k]) && (figures[k] as number) >= 0);
      }
      default:
        return false;
    }
  });
}

async function status(tn: TestNode, auth?: string | null): Promise<SystemBody> {
  const reply = await tn.request('GET', '/restful/system', { auth });
  assert.equal(reply.status, 200, reply.text);
  return reply.json<SystemBody>();
}

describe('GET /restful/system', () => {
  let tn: TestNode;
  before(async () => {
    tn = await startTestNode();
  });
  after(() => tn.destroy());

  it('needs credentials: 401 without or with wrong ones, 200 with a user or a token', async () => {
    const none = await tn.request('GET', '/restful/system', { auth: null });
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Basic realm="Serval RESTful API"');
    assert.ok(!none.text.includes('hostname'));
    const wrong = await tn.request('GET', '/restful/system', { auth: 'Basic ' + Buffer.from('harry:malfoy').toString('base64') });
    assert.equal(wrong.status, 401);
    const { token } = await tn.node.tokens.generate({ name: 'status', readOnly: true });
    assert.equal((await status(tn, `Bearer ${token}`)).http_status_code, 200);
    const viaHeader = await tn.request('GET', '/restful/system', { auth: null, headers: { 'X-Tendril-Token': token } });
    assert.equal(viaHeader.status, 200);
  });

  it('has every field with its type, and nothing else', async () => {
    const body = await status(tn);
    assert.deepEqual(Object.keys(body.system).sort(), Object.keys(SYSTEM_TYPES).sort());
    assert.deepEqual(Object.keys(body.node).sort(), Object.keys(NODE_TYPES).sort());
    for (const [name, type] of Object.entries(SYSTEM_TYPES)) assert.ok(typeOk(body.system[name], type), `system.${name} = ${JSON.stringify(body.system[name])} is ${type}`);
    for (const [name, type] of Object.entries(NODE_TYPES)) {
      const value = (body.node as unknown as Record<string, unknown>)[name];
      assert.ok(typeOk(value, type), `node.${name} = ${JSON.stringify(value)} is ${type}`);
    }
    for (const server of body.node.web_servers) {
      assert.deepEqual(Object.keys(server).sort(), ['dedicated', 'mode', 'serve', 'url']);
      assert.equal(typeof server.dedicated, 'boolean');
      assert.deepEqual(server.serve, ['api', 'metrics']);
    }
  });

  it('reports host facts that agree with node:os', async () => {
    const before = Date.now();
    const { system } = await status(tn);
    assert.equal(system.hostname, hostname());
    assert.equal(system.processor_count, cpus().length || availableParallelism());
    assert.equal(system.kernel_version, release());
    assert.ok(Math.abs((system.uptime_seconds as number) - uptime()) < 5, `uptime ${String(system.uptime_seconds)} vs ${uptime()}`);
    assert.match(system.uptime as string, /^up (\d+ (week|day|hour|minute)s?(, )?)+$|^up 0 minutes$/);
    assert.ok(Math.abs(Date.parse(system.systime as string) - before) < 5_000);
    const expectedLoad = ((system.load_average_1min as number) * 100) / system.processor_count;
    assert.ok(Math.abs((system.system_load_percent as number) - expectedLoad) < 0.02);
    const s = statfsSync(tn.paths.storeDir);
    const disk = ((s.blocks - s.bavail) * 100) / s.blocks;
    assert.ok(Math.abs((system.used_disk_percent as number) - disk) < 1, `disk ${String(system.used_disk_percent)} vs ${disk}`);
    let osRelease = '';
    try {
      osRelease = readFileSync('/etc/os-release', 'utf8');
    } catch {
      // no os-release: the kernel's name is reported instead
    }
    const pretty = /^PRETTY_NAME=(["']?)(.*)\1$/m.exec(osRelease)?.[2];
    if (pretty) assert.equal(system.operating_system, pretty);
  });

  it('counts bundles and store bytes, which grow with an insert', async () => {
    const first = (await status(tn)).node;
    const payload = Buffer.alloc(50_000, 'p');
    const reply = await insert(tn, { manifest: 'service=file\nname=status-test\n', payload });
    assert.equal(reply.status, 201, reply.text);
    const second = (await status(tn)).node;
    assert.equal(second.bundles, first.bundles + 1);
    // The store counts the pages it uses, which free pages left by earlier writes may absorb in part.
    assert.ok(second.store_bytes >= first.store_bytes + payload.length / 2, `${first.store_bytes} → ${second.store_bytes}`);
  });

  it('counts unlocked identities', async () => {
    const start = (await status(tn)).node.unlocked_identities;
    await tn.request('POST', '/restful/keyring/add?name=One');
    await tn.request('POST', '/restful/keyring/add?name=Two');
    const pinned = (await tn.request('POST', '/restful/keyring/add?name=Three&pin=4321')).json<{ identity: { sid: string } }>().identity.sid;
    assert.equal((await status(tn)).node.unlocked_identities, start + 3);
    assert.equal((await tn.request('PUT', `/restful/keyring/${pinned}/lock`)).status, 200);
    assert.equal((await status(tn)).node.unlocked_identities, start + 2);
    assert.equal((await tn.request('GET', '/restful/keyring/identities.json?pin=4321')).status, 200);
    assert.equal((await status(tn)).node.unlocked_identities, start + 3);
  });

  it('lists the node\'s web servers with their modes, and a dedicated one once it forwards', async () => {
    const paths = makeInstance();
    const config = buildConfig(readConfigFile(paths.configFile));
    const node = await startNode({
      paths,
      config: () => config,
      log: silentLogger(),
      pinKeyParams: TEST_PIN_KEY_PARAMS,
      servers: [
        { mode: 'upstream', bind: '127.0.0.1', port: 0, allowedOrigins: [] },
        { mode: 'dev', bind: '127.0.0.1', port: 0, allowedOrigins: [] },
      ],
    });
    const dedicated = await startDedicatedServer(paths, { mode: 'dev', bind: '127.0.0.1', port: 0, allowedOrigins: [] }, silentLogger(), 0);
    try {
      const get = async (port: number): Promise<SystemBody> => {
        const reply = await request(port, 'GET', '/restful/system');
        assert.equal(reply.status, 200, reply.text);
        return reply.json<SystemBody>();
      };
      const embedded = (await get(node.port!)).node.web_servers;
      assert.deepEqual(
        embedded.map((w) => [w.mode, w.dedicated]),
        [
          ['upstream', false],
          ['dev', false],
        ],
      );
      assert.equal(embedded[0]!.url, `http://127.0.0.1:${node.port}`);
      assert.match(embedded[1]!.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      // The dedicated server is listed once it has forwarded a request (this one).
      const port = Number(new URL(dedicated.url).port);
      const viaDedicated = (await get(port)).node.web_servers;
      assert.deepEqual(viaDedicated.at(-1), { mode: 'dev', url: dedicated.url, dedicated: true, serve: ['api', 'metrics'] });
      assert.equal(viaDedicated.length, 3);
    } finally {
      await dedicated.stop();
      await node.stop();
    }
  });

  it('carries no secret: no password, PIN, token, Rhizome secret, bundle secret or private key', async () => {
    const pin = 'pin-7316-secret';
    const withPin = (await tn.request('POST', `/restful/keyring/add?name=Secretive&pin=${pin}`)).json<{ identity: { sid: string } }>();
    const { token } = await tn.node.tokens.generate({ name: 'scan' });
    const author = withPin.identity.sid;
    const stored = await insert(tn, { author, manifest: 'service=file\nname=secret-scan\n', payload: 'secret payload' });
    assert.equal(stored.status, 201, stored.text);
    const bundleSecret = stored.headers['serval-rhizome-bundle-secret'];
    assert.equal(typeof bundleSecret, 'string', 'the insert reveals the bundle secret to its author');
    // The listing as any client sees it, with a PIN and the token in use just before.
    await tn.request('GET', `/restful/keyring/identities.json?pin=${pin}`, { auth: `Bearer ${token}` });
    const text = (await tn.request('GET', '/restful/system', { auth: `Bearer ${token}` })).text.toLowerCase();

    const secrets: Record<string, string> = {
      'Basic password potter': 'potter',
      'Basic password weasley': 'weasley',
      'Basic password grainger': 'grainger',
      PIN: pin,
      token,
      'token without its prefix': token.slice(5),
      'bundle secret': bundleSecret as string,
    };
    for (const identity of tn.node.keyring.list()) {
      secrets[`${identity.sidHex} rhizome secret`] = identity.rhizomeSecret.toString('hex');
      secrets[`${identity.sidHex} signing secret`] = identity.signingSecret.toString('hex');
      secrets[`${identity.sidHex} signing seed`] = identity.signingSecret.subarray(0, 32).toString('hex');
      secrets[`${identity.sidHex} box secret`] = identity.boxSecret.toString('hex');
    }
    assert.ok(tn.node.keyring.list().length >= 4);
    for (const [what, secret] of Object.entries(secrets)) {
      assert.ok(secret.length >= 6, what);
      assert.ok(!text.includes(secret.toLowerCase()), `${what} appears in /restful/system`);
    }
    // Nor anything shaped like a key: no run of 32 or more hexadecimal digits at all.
    assert.doesNotMatch(text, /[0-9a-f]{32}/);
  });
});
