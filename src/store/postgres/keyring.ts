/**
 * A cluster's keyring in the shared database (KeyringStorage, ../keyring-storage.ts): the header
 * (salt and key-derivation parameters) in keyring_header, each sealed slot a row of keyring_slots,
 * exactly the bytes the keyring file would hold — the database never sees a secret in the clear.
 *
 * Changes are applied slot by slot (insert, delete, replace by the old sealed bytes), so two nodes
 * changing different identities at once both keep their change; each ends with a NOTIFY on which
 * every node reads the slots again.
 */
import { randomBytes } from 'node:crypto';
import type { KdfParams, KeyringFile } from '../keyring-file.js';
import type { KeyringStorage } from '../keyring-storage.js';
import { watchChannel, type Database } from './database.js';
import { pg } from './errors.js';

const CHANNEL = 'tendril_keyring';

export function databaseKeyringStorage(db: Database): KeyringStorage {
  const slots = async (): Promise<Buffer[]> =>
    (await db.sql<Array<{ sealed: Buffer }>>`SELECT sealed FROM keyring_slots ORDER BY id`).map((r) => r.sealed);
  return {
    load: (kdf: KdfParams) =>
      pg(async (): Promise<KeyringFile> => {
        // The first node to start makes the header; the others (and every later start) read it.
        await db.sql`
          INSERT INTO keyring_header (salt, opslimit, memlimit)
          VALUES (${randomBytes(16)}, ${kdf.opsLimit}, ${kdf.memLimit}) ON CONFLICT DO NOTHING`;
        const [header] = await db.sql<Array<{ salt: Buffer; opslimit: bigint; memlimit: bigint }>>`
          SELECT salt, opslimit, memlimit FROM keyring_header`;
        return {
          salt: header!.salt,
          kdf: { opsLimit: Number(header!.opslimit), memLimit: Number(header!.memlimit) },
          slots: await slots(),
        };
      }),
    slots: () => pg(slots),
    save: (change) =>
      pg(async () => {
        await db.sql.begin(async (tx) => {
          for (const sealed of change.removed) await tx`DELETE FROM keyring_slots WHERE sealed = ${sealed}`;
          for (const [old, sealed] of change.replaced) await tx`UPDATE keyring_slots SET sealed = ${sealed} WHERE sealed = ${old}`;
          for (const sealed of change.added) await tx`INSERT INTO keyring_slots (sealed) VALUES (${sealed})`;
          await tx`SELECT pg_notify(${CHANNEL}, '')`;
        });
      }),
    adopt: (keyring) =>
      pg(async () => {
        await db.sql.begin(async (tx) => {
          await tx`
            INSERT INTO keyring_header (salt, opslimit, memlimit) VALUES (${keyring.salt}, ${keyring.kdf.opsLimit}, ${keyring.kdf.memLimit})
            ON CONFLICT (one) DO UPDATE SET salt = excluded.salt, opslimit = excluded.opslimit, memlimit = excluded.memlimit`;
          const keep = new Set(keyring.slots.map((s) => s.toString('base64')));
          for (const { sealed } of await tx<Array<{ sealed: Buffer }>>`SELECT sealed FROM keyring_slots`) {
            if (!keep.has(sealed.toString('base64'))) await tx`DELETE FROM keyring_slots WHERE sealed = ${sealed}`;
          }
          for (const sealed of keyring.slots) await tx`INSERT INTO keyring_slots (sealed) VALUES (${sealed}) ON CONFLICT (sealed) DO NOTHING`;
          await tx`SELECT pg_notify(${CHANNEL}, '')`;
        });
      }),
    watch: (changed) => watchChannel(db, CHANNEL, changed),
  };
}

/** The database's keyring as stored, read without writing anything (undefined: none yet). */
export async function readDatabaseKeyring(db: Database): Promise<KeyringFile | undefined> {
  return pg(async () => {
    const [header] = await db.sql<Array<{ salt: Buffer; opslimit: bigint; memlimit: bigint }>>`SELECT salt, opslimit, memlimit FROM keyring_header`;
    if (header === undefined) return undefined;
    const slots = (await db.sql<Array<{ sealed: Buffer }>>`SELECT sealed FROM keyring_slots ORDER BY id`).map((r) => r.sealed);
    return { salt: header.salt, kdf: { opsLimit: Number(header.opslimit), memLimit: Number(header.memlimit) }, slots };
  });
}
