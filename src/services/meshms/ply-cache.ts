/**
 * Decrypted MeshMS payloads (plys and conversation indexes) kept in memory by bundle id and
 * version, least recently used first out, within a byte budget. A stored version never changes,
 * so a hit is always current; a new version simply misses.
 */
import { toHex } from '../../formats/hex.js';

interface Entry {
  readonly version: bigint;
  readonly bytes: Buffer;
}

export class PlyCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(private readonly budget: number) {}

  get(bid: Buffer, version: bigint): Buffer | undefined {
    const key = toHex(bid);
    const entry = this.entries.get(key);
    if (!entry || entry.version !== version) return undefined;
    // Map order is insertion order: re-inserting makes it the most recently used.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.bytes;
  }

  set(bid: Buffer, version: bigint, bytes: Buffer): void {
    const key = toHex(bid);
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.bytes.length;
    }
    if (bytes.length > this.budget) return;
    this.entries.set(key, { version, bytes });
    this.bytes += bytes.length;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.budget) break;
      this.entries.delete(k);
      this.bytes -= e.bytes.length;
    }
  }
}
