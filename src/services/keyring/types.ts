/**
 * The keyring service contract. HTTP handlers, the CLI and (later) Rhizome and MeshMS see only
 * this interface; src/services/keyring/keyring.ts is its implementation.
 */
import type { DumpIdentity } from '../../formats/keyring-dump.js';

/** An unlocked identity (spec §2.1, §7.1). Buffers are the caller's to read, never to modify. */
export interface Identity {
  /** Curve25519 public key (SID), 32 bytes, and its uppercase hex. */
  readonly sid: Buffer;
  readonly sidHex: string;
  /** Ed25519 public key (Signing ID, "identity"), 32 bytes, and its uppercase hex. */
  readonly signingId: Buffer;
  readonly signingIdHex: string;
  /** Ed25519 secret key, 64 bytes (seed ‖ public key). */
  readonly signingSecret: Buffer;
  /** Curve25519 secret key, 32 bytes. */
  readonly boxSecret: Buffer;
  /** The Rhizome Secret (16 to 1024 bytes; 32 for identities made here). */
  readonly rhizomeSecret: Buffer;
  /** DID and Name; both undefined when the identity has no DID/Name record, '' when empty. */
  readonly did: string | undefined;
  readonly name: string | undefined;
}

export interface NewIdentity {
  readonly pin?: string;
  /** undefined: no DID/Name record unless a name is given; '' or a value: a record is made. */
  readonly did?: string;
  readonly name?: string;
}

export interface IdentityChanges {
  /** undefined leaves the field unchanged; '' clears it (spec §2.6). */
  readonly did?: string;
  readonly name?: string;
}

export interface KeyringService {
  /** Unlocked identities, in keyring order. */
  list(): readonly Identity[];
  /**
   * Tries `pin` on every locked identity. A wrong PIN changes nothing and reveals nothing. True
   * when the PIN is right: it opened an identity now, or one it opened is still unlocked.
   */
  enterPin(pin: string): Promise<boolean>;
  /** The unlocked identity with this SID (32 bytes or hex). */
  find(sid: Buffer | string): Identity | undefined;
  /** The unlocked identity with this Signing ID (32 bytes or hex). */
  findBySigningId(signingId: Buffer | string): Identity | undefined;
  /** Validates DID and Name (400), then creates, stores and unlocks a new identity. */
  add(options: NewIdentity): Promise<Identity>;
  /** Validates, then changes DID and/or Name of an unlocked identity (404 if not unlocked). */
  update(sid: Buffer | string, changes: IdentityChanges): Promise<Identity>;
  /** Erases an unlocked identity from the keyring file (404 if not unlocked). */
  remove(sid: Buffer | string): Promise<Identity>;
  /** Unloads an unlocked identity from memory; the file is unchanged (404 if not unlocked). */
  lock(sid: Buffer | string): Identity;
  /** Adds identities read from a reference keyring dump; `pins[i]` protects the i-th new one. */
  load(identities: readonly DumpIdentity[], pins: readonly string[]): Promise<Identity[]>;
  /** Every unlocked identity, as a reference keyring dump would list it. */
  dump(): DumpIdentity[];
  /**
   * Calls `listener` after every change of the unlocked identities (added, unlocked, locked,
   * removed, loaded) or of a DID or name; returns the unsubscribe.
   */
  subscribe(listener: () => void): () => void;
}
