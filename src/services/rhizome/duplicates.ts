/**
 * Duplicate detection on insert (spec §3.8.3 step 7): a new bundle with the same payload, service
 * and — where the new manifest has them — name, sender and recipient as a stored one is answered
 * with the stored one instead of being stored again.
 */
import { verifyManifestSignature } from '../../crypto/bundle-keys.js';
import type { Manifest } from '../../formats/manifest.js';
import type { RhizomeStore, StoredBundle } from '../../store/rhizome/types.js';

const same = (a: Buffer | undefined, b: Buffer | undefined): boolean => (a && b ? a.equals(b) : a === b);

export async function findDuplicate(store: RhizomeStore, m: Manifest): Promise<StoredBundle | undefined> {
  const filesize = m.filesize ?? 0n;
  // Candidates share the payload, so the indexed filehash narrows the search to a handful; an
  // empty payload has no hash, and those are rare enough to scan by service.
  const filter = {
    service: m.service,
    ...(filesize > 0n ? { filehash: m.filehash } : {}),
    ...(m.sender ? { sender: m.sender } : {}),
    ...(m.recipient ? { recipient: m.recipient } : {}),
  };
  for await (const batch of store.list(filter, { order: 'desc' })) {
    for (const candidate of batch) {
      if (candidate.filesize !== filesize) continue;
      if (filesize > 0n && !same(candidate.filehash, m.filehash)) continue;
      if (m.name !== undefined && candidate.name !== m.name) continue;
      if (candidate.bid.equals(m.id!)) continue;
      if (verifyManifestSignature(candidate.manifest)) return candidate;
    }
  }
  return undefined;
}
