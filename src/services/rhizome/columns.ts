/**
 * From a signed manifest to the columns the store indexes, and from a stored bundle back to a
 * parsed manifest.
 */
import { parseManifest, type Manifest } from '../../formats/manifest.js';
import type { NewBundle, StoredBundle } from '../../store/rhizome/types.js';

export function bundleColumns(manifest: Manifest, signed: Buffer, author?: Buffer): NewBundle {
  return {
    bid: manifest.id!,
    version: manifest.version!,
    filesize: manifest.filesize ?? 0n,
    filehash: manifest.filehash,
    tail: manifest.tail,
    service: manifest.service,
    name: manifest.name,
    sender: manifest.sender,
    recipient: manifest.recipient,
    date: manifest.date,
    author,
    manifest: signed,
  };
}

/** The parsed manifest of a stored bundle (the store only holds manifests that parsed). */
export function storedManifest(bundle: StoredBundle): Manifest {
  return parseManifest(bundle.manifest);
}
