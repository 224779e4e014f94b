/** Storing a file as a bundle, with a progress bar and a way to cancel. */
import { useRef, useState } from 'preact/hooks';
import { framableFilename, type Identity, type StoreResult } from '../../../src/client/index.js';
import { ErrorNote, HexId, IdentitySelect, Panel } from '../components.js';
import { useSession } from '../context.js';
import { bytes } from '../format.js';

interface Progress {
  readonly sent: number;
  readonly total: number;
}

/** A manifest field's value: one line. */
const oneLine = (text: string): string => text.replace(/[\r\n]+/g, ' ').trim();

function describeStored(result: StoreResult): string {
  if (result.status === 201) return 'Stored';
  if (result.status === 200) return 'Already stored';
  return `Not stored: ${result.bundleStatus?.message ?? result.reason}${result.payloadStatus ? ` (${result.payloadStatus.message})` : ''}`;
}

export function Upload(props: { identities: readonly Identity[]; onStored: () => void }) {
  const { client } = useSession();
  const [file, setFile] = useState<File>();
  const [name, setName] = useState('');
  const [service, setService] = useState('file');
  const [author, setAuthor] = useState('');
  const [progress, setProgress] = useState<Progress>();
  const [result, setResult] = useState<StoreResult>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const abort = useRef<AbortController | undefined>(undefined);

  const upload = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (file === undefined) return;
    const controller = new AbortController();
    abort.current = controller;
    setBusy(true);
    setError(undefined);
    setResult(undefined);
    setProgress({ sent: 0, total: file.size });
    try {
      const stored = await client.rhizome.insert({
        payload: file,
        filename: framableFilename(file.name),
        manifest: `service=${oneLine(service) || 'file'}\nname=${oneLine(name || file.name)}\n`,
        author: author || undefined,
        onProgress: (sent, total) => setProgress({ sent, total }),
        signal: controller.signal,
      });
      setResult(stored);
      props.onStored();
    } catch (err) {
      setError(controller.signal.aborted ? new Error('Upload cancelled: nothing was stored.') : err);
      setProgress(undefined);
    } finally {
      abort.current = undefined;
      setBusy(false);
    }
  };

  const percent = progress && progress.total > 0 ? Math.floor((progress.sent * 100) / progress.total) : 0;
  return (
    <Panel title="Upload a file">
      <form class="upload" onSubmit={(e) => void upload(e)}>
        <label class="field grow">
          <span>File</span>
          <input
            type="file"
            name="file"
            required
            onChange={(e) => {
              const chosen = e.currentTarget.files?.[0];
              setFile(chosen);
              setName(chosen?.name ?? '');
              setProgress(undefined);
              setResult(undefined);
            }}
          />
        </label>
        <label class="field">
          <span>Bundle name</span>
          <input name="bundle-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>Service</span>
          <input name="bundle-service" value={service} onInput={(e) => setService(e.currentTarget.value)} />
        </label>
        <IdentitySelect label="Author" identities={props.identities} value={author} onChange={setAuthor} none="None (a new bundle secret)" />
        <div class="buttons">
          <button type="submit" class="primary" disabled={file === undefined || busy}>
            Upload
          </button>
          {busy && (
            <button type="button" onClick={() => abort.current?.abort()}>
              Cancel
            </button>
          )}
        </div>
      </form>
      {progress !== undefined && (
        <div class="progress">
          <progress aria-label="Upload progress" max={progress.total} value={progress.sent} />
          <span aria-live="polite">
            {percent} % — {bytes(progress.sent)} of {bytes(progress.total)}
          </span>
        </div>
      )}
      <ErrorNote error={error} />
      {result !== undefined && (
        <p class={result.status < 202 ? 'ok' : 'error'} role="status">
          {describeStored(result)}
          {result.bundle.id !== undefined && (
            <>
              {': bundle '}
              <HexId value={result.bundle.id} />, version {result.bundle.version}
            </>
          )}
          {result.bundle.secret !== undefined && author === '' && (
            <>
              {'. Its bundle secret, needed to update it: '}
              <code class="secret">{result.bundle.secret}</code>
            </>
          )}
        </p>
      )}
    </Panel>
  );
}
