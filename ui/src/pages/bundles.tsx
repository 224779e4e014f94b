/** Rhizome: search and filter the bundles, see a manifest, download a payload, upload a file. */
import { useState } from 'preact/hooks';
import type { Bundle, BundleFilter } from '../../../src/client/index.js';
import { Empty, ErrorNote, HexId, Page, Panel, Table } from '../components.js';
import { useIdentities, useSession } from '../context.js';
import { bytes, when } from '../format.js';
import { useLoad } from '../hooks.js';
import { Upload } from './upload.js';

const PAGE_ROWS = 200;
const SERVICES = ['file', 'MeshMS2', 'MeshMB1'];

/** The filter as the node takes it: the search text matches anywhere in the name. */
function toFilter(form: { text: string; service: string; sender: string; recipient: string }): BundleFilter {
  const like = form.text.trim().replace(/[\\%_]/g, (c) => `\\${c}`);
  return {
    name: like === '' ? undefined : `%${like}%`,
    service: form.service.trim() || undefined,
    sender: form.sender.trim() || undefined,
    recipient: form.recipient.trim() || undefined,
  };
}

export function Bundles() {
  const { client } = useSession();
  const identities = useIdentities();
  const [form, setForm] = useState({ text: '', service: '', sender: '', recipient: '' });
  const [filter, setFilter] = useState<BundleFilter>({});
  const [shown, setShown] = useState(PAGE_ROWS);
  const list = useLoad(() => client.rhizome.list(filter), [client, filter]);
  const set = (key: keyof typeof form) => (e: Event) => setForm({ ...form, [key]: (e.currentTarget as HTMLInputElement).value });
  const rows = list.data ?? [];

  return (
    <Page title="Bundles" intro="Rhizome stores signed, versioned bundles: files, and the journals that carry messages.">
      <Upload identities={identities.data ?? []} onStored={list.reload} />
      <Panel title="Find bundles">
        <form
          role="search"
          class="filters"
          onSubmit={(e) => {
            e.preventDefault();
            setShown(PAGE_ROWS);
            setFilter(toFilter(form));
          }}
        >
          <label class="field grow">
            <span>Name contains</span>
            <input type="search" name="q" value={form.text} onInput={set('text')} />
          </label>
          <label class="field">
            <span>Service</span>
            <input name="service" list="services" value={form.service} onInput={set('service')} placeholder="any" />
            <datalist id="services">
              {SERVICES.map((s) => (
                <option key={s} value={s} />
              ))}
            </datalist>
          </label>
          <label class="field">
            <span>Sender SID</span>
            <input name="sender" value={form.sender} pattern="[0-9A-Fa-f]{64}" title="64 hex digits" onInput={set('sender')} />
          </label>
          <label class="field">
            <span>Recipient SID</span>
            <input name="recipient" value={form.recipient} pattern="[0-9A-Fa-f]{64}" title="64 hex digits" onInput={set('recipient')} />
          </label>
          <div class="buttons">
            <button type="submit" class="primary">
              Search
            </button>
            <button type="button" onClick={list.reload}>
              Refresh
            </button>
          </div>
        </form>
        <ErrorNote error={list.error} />
        <p class="muted" aria-live="polite">
          {list.loading ? 'Loading…' : `${rows.length} ${rows.length === 1 ? 'bundle' : 'bundles'}${rows.length > shown ? `, first ${shown} shown` : ''}.`}
        </p>
        {!list.loading && rows.length === 0 && <Empty>No bundle matches.</Empty>}
        {rows.length > 0 && <BundleTable rows={rows.slice(0, shown)} />}
        {rows.length > shown && (
          <button type="button" onClick={() => setShown(shown + PAGE_ROWS)}>
            Show {Math.min(PAGE_ROWS, rows.length - shown)} more
          </button>
        )}
      </Panel>
    </Page>
  );
}

function BundleTable(props: { rows: readonly Bundle[] }) {
  const [open, setOpen] = useState<string>();
  return (
    <Table label="Bundles" columns={['Name', 'Service', 'Size', 'Added', 'ID', '']} numeric={['Size']}>
      {props.rows.map((b) => (
        <BundleRow key={b.id} bundle={b} open={open === b.id} onToggle={() => setOpen(open === b.id ? undefined : b.id)} />
      ))}
    </Table>
  );
}

function BundleRow(props: { bundle: Bundle; open: boolean; onToggle: () => void }) {
  const { client } = useSession();
  const b = props.bundle;
  const label = b.name || b.id;
  const [download, setDownload] = useState<{ busy: boolean; error?: unknown }>({ busy: false });

  const save = async (): Promise<void> => {
    setDownload({ busy: true });
    try {
      const response = await client.rhizome.payload(b.id, { decrypted: true });
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = b.name || `${b.id}.bin`;
      document.body.append(a);
      a.click();
      a.remove();
      // The browser has taken the bytes once the download started; free them a little later.
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      setDownload({ busy: false });
    } catch (error) {
      setDownload({ busy: false, error });
    }
  };

  return (
    <>
      <tr>
        <td data-label="Name" class="name">{b.name || <span class="muted">(no name)</span>}</td>
        <td data-label="Service">{b.service}</td>
        <td data-label="Size" class="num">{bytes(b.filesize)}</td>
        <td data-label="Added">{when(b['.inserttime'])}</td>
        <td data-label="ID">
          <HexId value={b.id} />
        </td>
        <td class="actions">
          <button type="button" aria-expanded={props.open} aria-label={`Manifest of ${label}`} onClick={props.onToggle}>
            Manifest
          </button>
          <button type="button" disabled={download.busy || b.filesize === 0} aria-label={`Download ${label}`} onClick={() => void save()}>
            {download.busy ? 'Downloading…' : 'Download'}
          </button>
        </td>
      </tr>
      {download.error !== undefined && (
        <tr>
          <td colSpan={6}>
            <ErrorNote error={download.error} />
          </td>
        </tr>
      )}
      {props.open && (
        <tr class="details">
          <td colSpan={6}>
            <Manifest bid={b.id} />
          </td>
        </tr>
      )}
    </>
  );
}

/** The manifest's text fields (the signatures that follow its NUL byte are binary). */
function Manifest(props: { bid: string }) {
  const { client } = useSession();
  const loaded = useLoad(() => client.rhizome.manifest(props.bid), [client, props.bid]);
  if (loaded.error !== undefined) return <ErrorNote error={loaded.error} />;
  if (loaded.data === undefined) return <p class="muted">Loading the manifest…</p>;
  const bytesOf = loaded.data.manifest;
  const end = bytesOf.indexOf(0);
  const text = new TextDecoder().decode(bytesOf.subarray(0, end < 0 ? bytesOf.length : end));
  return (
    <figure class="manifest">
      <figcaption>
        Manifest of <HexId value={props.bid} />: {bytesOf.length} bytes, {end < 0 ? 'unsigned' : `${bytesOf.length - end - 1} bytes of signatures`}
      </figcaption>
      <pre aria-label="Manifest text">{text}</pre>
    </figure>
  );
}
