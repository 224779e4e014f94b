/**
 * Reading a whole bundle as it is stored now, for the services built on Rhizome journals (MeshMS
 * plys, MeshMB feeds and private bundles), whose payloads are small and read into memory.
 *
 * Commits run on the store's writer thread, so a journal can be appended to between reading its
 * manifest and opening its payload; the append removes the old payload. The service then answers
 * 'replaced', and the newer version is read instead. Each retry needs yet another commit to land
 * in that gap, so a few attempts suffice.
 */
import type { BundleView, RhizomeReply, RhizomeService } from './types.js';

/** Reads of a bundle replaced as it was opened, before its absence is taken as final. */
export const REPLACED_ATTEMPTS = 5;

/** The bundle read, with its bytes, or with the reply that explains why there are none. */
export type CurrentBundle =
  | { readonly view: BundleView; readonly bytes: Buffer }
  | { readonly view: BundleView; readonly bytes: undefined; readonly reply: RhizomeReply };

export interface ReadCurrentOptions {
  /** The Bundle Secret to decrypt with, when the caller holds it (a private bundle). */
  readonly secret?: Buffer;
  /** Checked before any byte is read: a caller may be asked for any bundle id. */
  readonly accept?: (view: BundleView) => boolean;
}

/**
 * The bundle stored under `bid` and its whole payload, decrypted when encrypted; undefined when
 * there is no such bundle (or `accept` refuses it).
 */
export async function readCurrent(rhizome: RhizomeService, bid: Buffer, options: ReadCurrentOptions = {}): Promise<CurrentBundle | undefined> {
  for (let attempt = 1; ; attempt++) {
    const stored = (await rhizome.manifest(bid)).bundle;
    if (!stored || (options.accept && !options.accept(stored))) return undefined;
    const view = options.secret ? { ...stored, secret: options.secret } : stored;
    const size = Number(view.manifest.filesize ?? 0n);
    const opened = await rhizome.openPayload(view, true, 0, size);
    if (opened.kind === 'replaced' && attempt < REPLACED_ATTEMPTS) continue;
    if (opened.kind !== 'payload') return { view, bytes: undefined, reply: opened.reply };
    const chunks: Buffer[] = [];
    for await (const chunk of opened.stream()) chunks.push(chunk as Buffer);
    return { view, bytes: Buffer.concat(chunks) };
  }
}
