/**
 * The two PostgreSQL clients for Node measured side by side on the work the Rhizome store does,
 * against a private server (docs/postgres.md records the figures and the choice):
 *
 *   npm install --no-save pg && node --import tsx bench/pg-clients.ts
 *
 * `postgres` (postgres.js, the one Tendril uses) and `pg` (node-postgres), each with a pool of
 * 8 connections and 16 requests in flight: point reads by key, 1 KiB bytea inserts, a 10,000-row
 * list, 1 MiB bytea rows read back (64 MiB), and NOTIFY→LISTEN latency. Rounds alternate between
 * the clients; client CPU (this process) per operation beside each rate. Not part of `npm run
 * bench`: `pg` is no dependency of Tendril.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { startPostgres } from '../test/helpers/postgres-server.js';

interface Client {
  readonly name: string;
  query(text: string, params: unknown[]): Promise<Array<Record<string, unknown>>>;
  listen(channel: string, on: (payload: string) => void): Promise<void>;
  end(): Promise<void>;
}

function postgresJs(url: string): Promise<Client> {
  const sql = postgres(url, { max: 8, onnotice: () => undefined });
  return Promise.resolve({
    name: 'postgres 4 (postgres.js)',
    query: async (text, params) => [...(await sql.unsafe(text, params as never[], { prepare: true }))] as Array<Record<string, unknown>>,
    listen: async (channel, on) => void (await sql.listen(channel, on)),
    end: () => sql.end({ timeout: 1 }),
  });
}

/** Not a dependency: installed for this measurement only (see above). */
const PG_MODULE: string = 'pg';

async function nodePostgres(url: string): Promise<Client> {
  const pg = (await import(PG_MODULE)) as { default: { Pool: new (o: object) => PgPool; Client: new (o: object) => PgClient } };
  const pool = new pg.default.Pool({ connectionString: url, max: 8 });
  pool.on('error', () => undefined); // idle connections closed by the server at the end
  const listener = new pg.default.Client({ connectionString: url });
  await listener.connect();
  let n = 0;
  const names = new Map<string, string>();
  return {
    name: 'pg 8 (node-postgres)',
    // Named statements, so both clients prepare each query once per connection.
    query: async (text, params) => {
      let name = names.get(text);
      if (name === undefined) names.set(text, (name = `q${n++}`));
      return (await pool.query({ name, text, values: params })).rows;
    },
    listen: async (channel, on) => {
      listener.on('notification', (m) => on(m.payload ?? ''));
      await listener.query(`LISTEN ${channel}`);
    },
    end: async () => {
      await listener.end();
      await pool.end();
    },
  };
}
interface PgPool {
  query(q: object): Promise<{ rows: Array<Record<string, unknown>> }>;
  on(event: 'error', f: () => void): void;
  end(): Promise<void>;
}
interface PgClient {
  connect(): Promise<void>;
  query(text: string): Promise<unknown>;
  on(event: 'notification', f: (m: { payload?: string }) => void): void;
  end(): Promise<void>;
}

/** `count` calls of `op`, 16 at a time: operations/s and client CPU µs per operation. */
async function rate(count: number, op: (i: number) => Promise<unknown>): Promise<[number, number]> {
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < count) await op(next++);
  }));
  const used = process.cpuUsage(cpu);
  return [count / ((performance.now() - started) / 1000), (used.user + used.system) / count];
}

const server = await startPostgres();
const admin = postgres(server.adminUrl, { max: 1, onnotice: () => undefined });
await admin.unsafe('CREATE DATABASE clients');
const url = server.socketUrl('clients');
const setup = postgres(url, { max: 1, onnotice: () => undefined });
await setup.unsafe(`CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, bid bytea NOT NULL, name text, data bytea);
  CREATE TABLE big (id int PRIMARY KEY, data bytea NOT NULL);
  ALTER TABLE big ALTER COLUMN data SET STORAGE EXTERNAL`);
await setup`INSERT INTO t (bid, name, data) SELECT decode(md5(i::text), 'hex'), 'row-' || i, decode(repeat(md5(i::text), 6), 'hex') FROM generate_series(1, 10000) i`;
const mib = randomBytes(1024 * 1024);
for (let i = 0; i < 64; i++) await setup`INSERT INTO big VALUES (${i}, ${mib})`;
await setup.end();

const rows: Record<string, string[]> = {};
const record = (client: string, what: string, value: string): void => void (rows[`${what}|${client}`] ??= []).push(value);
const payload = randomBytes(1024);
for (let round = 0; round < 3; round++) {
  for (const make of [postgresJs, nodePostgres]) {
    const c = await make(url);
    const [reads, readCpu] = await rate(20_000, (i) => c.query('SELECT id, bid, name FROM t WHERE id = $1', [(i % 10_000) + 1]));
    record(c.name, 'point reads/s (µs client CPU each)', `${reads.toFixed(0)} (${readCpu.toFixed(0)})`);
    const [writes, writeCpu] = await rate(5_000, (i) => c.query('INSERT INTO t (bid, name, data) VALUES ($1, $2, $3)', [randomBytes(32), `w-${i}`, payload]));
    record(c.name, '1 KiB bytea inserts/s (µs client CPU each)', `${writes.toFixed(0)} (${writeCpu.toFixed(0)})`);
    let started = performance.now();
    for (let i = 0; i < 5; i++) await c.query('SELECT id, bid, name, data FROM t WHERE id <= 10000 ORDER BY id', []);
    record(c.name, '10,000-row list, ms', ((performance.now() - started) / 5).toFixed(1));
    started = performance.now();
    for (let i = 0; i < 64; i++) await c.query('SELECT data FROM big WHERE id = $1', [i]);
    record(c.name, '64 × 1 MiB bytea read, MB/s', (64 * 1.048576 / ((performance.now() - started) / 1000)).toFixed(0));
    const latencies: number[] = [];
    let sent = 0;
    let wake: () => void = () => undefined;
    await c.listen('bench', () => {
      latencies.push(performance.now() - sent);
      wake();
    });
    for (let i = 0; i < 200; i++) {
      const heard = new Promise<void>((r) => (wake = r));
      sent = performance.now();
      await c.query("SELECT pg_notify('bench', $1)", [String(i)]);
      await heard;
    }
    latencies.sort((a, b) => a - b);
    record(c.name, 'NOTIFY → LISTEN p50 / p99 ms', `${latencies[100]!.toFixed(2)} / ${latencies[197]!.toFixed(2)}`);
    await c.end();
  }
}
process.stdout.write('| measure | client | rounds |\n|---|---|---|\n');
for (const [key, values] of Object.entries(rows)) {
  const [what, client] = key.split('|');
  process.stdout.write(`| ${what} | ${client} | ${values.join('; ')} |\n`);
}
await admin.end({ timeout: 1 });
await server.destroy();
