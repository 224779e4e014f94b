/**
 * The schema of a Tendril database, as numbered migrations applied in order (tendril_migrations
 * records each). Nodes that start together against a new database migrate it once: the whole
 * run holds a transaction-level advisory lock. A database whose schema is newer than this
 * Tendril knows is refused, untouched.
 *
 * Choices, each for a stated guarantee (the SQLite store's, src/store/rhizome/sqlite/schema.ts):
 *   - rhizome_manifests.id comes from a sequence, but only under the commit lock (see
 *     commit-sql.ts): ids are handed out in commit order, so a newsince reader that has seen id N
 *     will never later find a smaller id appear — on any node.
 *   - version and tail are uint64: 8-byte big-endian bytea, whose order is numeric order.
 *   - small payloads are rows of rhizome_payloads (data); larger ones are blobs: 1 MiB chunks in
 *     rhizome_chunks, written while they arrive, so no payload is ever held whole in memory. A
 *     blob is pending (0: being written by a node's session), live (1: a payload), or doomed (2:
 *     its payload was replaced or evicted; deleted by the sweeper once no reader holds it).
 *   - chunks are stored EXTERNAL: random bytes do not compress, so TOAST need not try.
 *   - rhizome_usage keeps the bytes the store counts against rhizome.database_size and the number
 *     of bundles, changed in the same transaction as what they count.
 *   - keyring_slots hold the sealed slots exactly as the keyring file holds them (the database
 *     never sees a secret in the clear); api_tokens hold SHA-256 digests, as tokens.json does.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the Rhizome store, the keyring, API tokens.
  `
  CREATE TABLE tendril_meta (
    key   text  PRIMARY KEY,
    value bytea NOT NULL
  );
  INSERT INTO tendril_meta (key, value) VALUES ('uuid', uuid_send(gen_random_uuid()));

  CREATE SEQUENCE rhizome_rowid;
  CREATE TABLE rhizome_manifests (
    id         bigint PRIMARY KEY,
    bid        bytea  NOT NULL UNIQUE CHECK (length(bid) = 32),
    version    bytea  NOT NULL CHECK (length(version) = 8),
    inserttime bigint NOT NULL,
    filesize   bigint NOT NULL CHECK (filesize >= 0),
    filehash   bytea  CHECK (filehash IS NULL OR length(filehash) = 64),
    tail       bytea  CHECK (tail IS NULL OR length(tail) = 8),
    service    text,
    name       text,
    sender     bytea,
    recipient  bytea,
    date       bigint,
    author     bytea,
    manifest   bytea  NOT NULL
  );
  CREATE INDEX rhizome_manifests_service   ON rhizome_manifests (service, id);
  CREATE INDEX rhizome_manifests_sender    ON rhizome_manifests (sender, id);
  CREATE INDEX rhizome_manifests_recipient ON rhizome_manifests (recipient, id);
  CREATE INDEX rhizome_manifests_filehash  ON rhizome_manifests (filehash) WHERE filehash IS NOT NULL;

  CREATE TABLE rhizome_blobs (
    id      bigint   GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    state   smallint NOT NULL CHECK (state IN (0, 1, 2)),
    session bigint
  );
  CREATE INDEX rhizome_blobs_unused ON rhizome_blobs (state, session) WHERE state <> 1;
  CREATE TABLE rhizome_chunks (
    blob bigint  NOT NULL REFERENCES rhizome_blobs ON DELETE CASCADE,
    seq  integer NOT NULL,
    data bytea   NOT NULL,
    PRIMARY KEY (blob, seq)
  );
  ALTER TABLE rhizome_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
  CREATE TABLE rhizome_payloads (
    hash       bytea  PRIMARY KEY CHECK (length(hash) = 64),
    length     bigint NOT NULL CHECK (length > 0),
    inserttime bigint NOT NULL,
    data       bytea  CHECK (data IS NULL OR length(data) = length),
    blob       bigint REFERENCES rhizome_blobs,
    CHECK ((data IS NULL) <> (blob IS NULL))
  );
  CREATE INDEX rhizome_payloads_rank ON rhizome_payloads ((inserttime - length), hash);
  CREATE TABLE rhizome_usage (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    bytes   bigint  NOT NULL,
    bundles bigint  NOT NULL
  );
  INSERT INTO rhizome_usage (bytes, bundles) VALUES (0, 0);

  -- One bundle of a group commit, called with the commit lock held (commit-sql.ts). p_kind says
  -- how the payload comes: 'none', 'stored' (a hash the store holds), 'inline' (p_data) or
  -- 'blob' (p_blob, a pending blob of the caller's session). Returns the outcome ('new', 'same',
  -- 'old', or 'missing' when the payload it relies on is no longer there), whether it added the
  -- payload, the row id (the new row's, or the stored one's) and, for 'same' and 'old', the stored row.
  CREATE FUNCTION rhizome_commit(
    p_bid bytea, p_version bytea, p_inserttime bigint, p_filesize bigint, p_filehash bytea,
    p_tail bytea, p_service text, p_name text, p_sender bytea, p_recipient bytea, p_date bigint,
    p_author bytea, p_manifest bytea, p_kind text, p_data bytea, p_blob bigint,
    OUT outcome text, OUT added boolean, OUT row_id bigint,
    -- The stored row, for 'same' and 'old' (a later bundle of the same group may replace it).
    OUT s_inserttime bigint, OUT s_version bytea, OUT s_filesize bigint, OUT s_filehash bytea,
    OUT s_tail bytea, OUT s_service text, OUT s_name text, OUT s_sender bytea, OUT s_recipient bytea,
    OUT s_date bigint, OUT s_author bytea, OUT s_manifest bytea
  ) LANGUAGE plpgsql AS $$
  DECLARE
    cur record;
    dropped record;
    delta bigint := 0;
    counted bigint := 1;
  BEGIN
    added := false;
    SELECT id, version, filehash, length(manifest) AS size INTO cur FROM rhizome_manifests WHERE bid = p_bid;
    IF FOUND AND cur.version >= p_version THEN
      outcome := CASE WHEN cur.version = p_version THEN 'same' ELSE 'old' END;
      row_id := cur.id;
      SELECT inserttime, version, filesize, filehash, tail, service, name, sender, recipient, date, author, manifest
        INTO s_inserttime, s_version, s_filesize, s_filehash, s_tail, s_service, s_name, s_sender, s_recipient, s_date, s_author, s_manifest
        FROM rhizome_manifests WHERE id = cur.id;
      IF p_kind = 'blob' THEN DELETE FROM rhizome_blobs WHERE id = p_blob AND state = 0; END IF;
      RETURN;
    END IF;
    IF p_kind = 'stored' THEN
      PERFORM 1 FROM rhizome_payloads WHERE hash = p_filehash FOR SHARE;
      IF NOT FOUND THEN outcome := 'missing'; RETURN; END IF;
    ELSIF p_kind = 'blob' THEN
      -- Locked, so the sweeper cannot take it meanwhile; gone if its session was taken for dead.
      PERFORM 1 FROM rhizome_blobs WHERE id = p_blob AND state = 0 FOR UPDATE;
      IF NOT FOUND THEN outcome := 'missing'; RETURN; END IF;
      INSERT INTO rhizome_payloads (hash, length, inserttime, blob) VALUES (p_filehash, p_filesize, p_inserttime, p_blob)
        ON CONFLICT (hash) DO NOTHING;
      added := FOUND;
      IF added THEN
        UPDATE rhizome_blobs SET state = 1, session = NULL WHERE id = p_blob;
      ELSE
        DELETE FROM rhizome_blobs WHERE id = p_blob;
      END IF;
    ELSIF p_kind = 'inline' THEN
      INSERT INTO rhizome_payloads (hash, length, inserttime, data) VALUES (p_filehash, p_filesize, p_inserttime, p_data)
        ON CONFLICT (hash) DO NOTHING;
      added := FOUND;
    END IF;
    IF added THEN delta := delta + p_filesize; END IF;
    IF cur.id IS NOT NULL THEN
      counted := 0;
      DELETE FROM rhizome_manifests WHERE id = cur.id;
      delta := delta - cur.size;
    END IF;
    row_id := nextval('rhizome_rowid');
    INSERT INTO rhizome_manifests (id, bid, version, inserttime, filesize, filehash, tail, service, name, sender, recipient, date, author, manifest)
      VALUES (row_id, p_bid, p_version, p_inserttime, p_filesize, p_filehash, p_tail, p_service, p_name, p_sender, p_recipient, p_date, p_author, p_manifest);
    delta := delta + length(p_manifest);
    IF cur.id IS NOT NULL THEN
      IF cur.filehash IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rhizome_manifests WHERE filehash = cur.filehash) THEN
        DELETE FROM rhizome_payloads WHERE hash = cur.filehash RETURNING length, blob INTO dropped;
        IF FOUND THEN
          delta := delta - dropped.length;
          IF dropped.blob IS NOT NULL THEN UPDATE rhizome_blobs SET state = 2 WHERE id = dropped.blob; END IF;
        END IF;
      END IF;
    END IF;
    UPDATE rhizome_usage SET bytes = bytes + delta, bundles = bundles + counted;
    outcome := 'new';
  END;
  $$;

  CREATE TABLE keyring_header (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    salt     bytea   NOT NULL CHECK (length(salt) = 16),
    opslimit bigint  NOT NULL,
    memlimit bigint  NOT NULL
  );
  CREATE TABLE keyring_slots (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sealed bytea  NOT NULL UNIQUE
  );

  CREATE TABLE api_tokens (
    id         text    PRIMARY KEY,
    name       text    NOT NULL,
    created_at bigint  NOT NULL,
    expires_at bigint,
    read_only  boolean NOT NULL,
    hash       text    NOT NULL
  );
  `,
  // 2: Rhizome Direct's walk asks for one size bin in BID order (src/store/rhizome/postgres/direct-queries.ts).
  `
  CREATE INDEX rhizome_manifests_filesize_bid ON rhizome_manifests (filesize, bid);
  `,
];
