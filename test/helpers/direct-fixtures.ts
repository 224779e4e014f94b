/**
 * Test support for Rhizome Direct: bundles made from fixed seeds, signed here, so the same store
 * can be built in Tendril and in the reference daemon (the vectors in test/vectors/direct were
 * recorded from stores made of these) and every BAR, enquiry and reply is reproducible.
 */
import { createHash } from 'node:crypto';
import { bundleKeyPairFromSecret, signManifest, type BundleKeyPair } from '../../src/crypto/bundle-keys.js';
import { Manifest, serializeManifestText } from '../../src/formats/manifest.js';
import { generatedBytes, generatedPayload } from './rhizome-wire.js';

export interface FixtureBundle {
  readonly label: string;
  readonly keys: BundleKeyPair;
  readonly bid: Buffer;
  readonly version: bigint;
  /** The signed manifest. */
  readonly manifest: Buffer;
  readonly payload: Buffer;
}

export interface FixtureOptions {
  /** Payload size in bytes (default 100). */
  readonly size?: number;
  readonly version?: bigint;
  /** A journal (tail=0); its payload is the first `size` bytes of the label's byte stream. */
  readonly journal?: boolean;
  readonly service?: string;
}

/** The bundle secret of a label: the first half of SHA-512("tendril-direct " + label). */
export function fixtureKeys(label: string): BundleKeyPair {
  return bundleKeyPairFromSecret(createHash('sha512').update(`tendril-direct ${label}`).digest().subarray(0, 32));
}

/** generatedBytes(size, seed), without filling a whole 1 MiB block for a small payload. */
function payloadBytes(size: number, seed: number): Buffer {
  if (size > 1024 * 1024) return generatedBytes(size, seed);
  return Buffer.concat([...generatedPayload(size, seed, Math.max(8, Math.ceil(size / 4) * 4))]).subarray(0, size);
}

function seedOf(label: string): number {
  return createHash('sha256').update(label).digest().readUInt32LE(0) || 1;
}

/**
 * A bundle signed with the label's key. Journals of one label share their byte stream, so a
 * longer version extends a shorter one, as an append does.
 */
export function fixtureBundle(label: string, options: FixtureOptions = {}): FixtureBundle {
  const size = options.size ?? 100;
  const keys = fixtureKeys(label);
  const version = options.version ?? 1_700_000_000_000n + BigInt(size);
  const payload = options.journal ? payloadBytes(size, seedOf(label)) : payloadBytes(size, seedOf(`${label}/${version}`));
  const m = new Manifest();
  m.id = keys.bid;
  m.version = version;
  m.filesize = BigInt(size);
  if (size > 0) m.filehash = createHash('sha512').update(payload).digest();
  if (options.journal) m.tail = 0n;
  m.service = options.service ?? 'file';
  m.date = 1_700_000_000_000n;
  if (!options.journal) m.name = `${label}.bin`;
  return { label, keys, bid: keys.bid, version, manifest: signManifest(serializeManifestText(m), keys.secretKey), payload };
}

/** `count` small bundles `prefix-0` … (sizes cycle through 0..1200 bytes so two size bins are used). */
export function fixtureSet(prefix: string, count: number, sizeOf: (i: number) => number = (i) => (i * 37) % 1201): FixtureBundle[] {
  return Array.from({ length: count }, (_, i) => fixtureBundle(`${prefix}-${i}`, { size: sizeOf(i) }));
}

const V = 1_700_000_000_000n;

/**
 * The stores the vectors in test/vectors/direct were recorded with, each in the order its bundles
 * were imported. `syncClient` holds no empty bundle: servald's client crashes pushing one.
 */
export const DIRECT_STORES = {
  /** Session `sync`: the client's store (servald `rhizome direct sync`). */
  syncClient: (): FixtureBundle[] => [
    fixtureBundle('a1', { size: 1 }),
    fixtureBundle('a2', { size: 100 }),
    fixtureBundle('a3', { size: 1024 }),
    fixtureBundle('a4', { size: 1025 }),
    fixtureBundle('a5', { size: 5000 }),
    fixtureBundle('a6', { size: 70000 }),
    fixtureBundle('shared1', { size: 300 }),
    fixtureBundle('shared2', { size: 3000 }),
    fixtureBundle('ver1', { size: 200, version: V + 5n }),
    fixtureBundle('ver2', { size: 210, version: V }),
    fixtureBundle('j', { size: 24, version: V + 24n, journal: true }),
  ],
  /** Session `sync`: the server's store; also the `probe` store the single requests were recorded on. */
  syncServer: (): FixtureBundle[] => [
    fixtureBundle('s1', { size: 0 }),
    fixtureBundle('s2', { size: 0 }),
    fixtureBundle('s3', { size: 500 }),
    fixtureBundle('s4', { size: 2048 }),
    fixtureBundle('s5', { size: 2049 }),
    fixtureBundle('s6', { size: 100000 }),
    fixtureBundle('s7', { size: 1 }),
    fixtureBundle('shared1', { size: 300 }),
    fixtureBundle('shared2', { size: 3000 }),
    fixtureBundle('ver1', { size: 200, version: V }),
    fixtureBundle('ver2', { size: 210, version: V + 5n }),
    fixtureBundle('j', { size: 45, version: V + 45n, journal: true }),
  ],
  /**
   * Session `rounds`: 2,600 bundles on the client, two enquiries (pull). The server has nothing
   * the client lacks: servald's client fetches asynchronously and may start its next round before
   * its fetches are done, so a session with pulls and several rounds has no fixed order.
   */
  roundsClient: (): FixtureBundle[] => fixtureSet('b', 2600),
  roundsServer: (): FixtureBundle[] => fixtureSet('b', 2600).filter((_, i) => i % 50 === 0),
  /** Single enquiry `cap`: more bundles in one window than an answer lists (4,095). */
  capServer: (): FixtureBundle[] => fixtureSet('c', 4200, (i) => (i * 37) % 1025),
  /** bundlelist.json of 1,000 bundles. */
  list: (): FixtureBundle[] =>
    Array.from({ length: 1000 }, (_, i) => fixtureBundle(`l-${i}`, { size: (i * 53) % 3000, service: i % 10 === 0 ? 'vector.list' : 'file' })),
} as const;
