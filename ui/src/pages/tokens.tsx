/**
 * API tokens: make one (its secret is shown here once), list them, revoke them. The node lets a
 * user of the node manage tokens, never a token itself (docs/ui.md says why).
 */
import { useState } from 'preact/hooks';
import type { NewToken } from '../../../src/client/index.js';
import { Empty, ErrorNote, Outcome, Page, Panel, Table } from '../components.js';
import { useSession } from '../context.js';
import { when } from '../format.js';
import { useAction, useLoad } from '../hooks.js';

const LIFETIMES = [
  { value: '', label: 'Never' },
  { value: '1h', label: '1 hour' },
  { value: '1d', label: '1 day' },
  { value: '30d', label: '30 days' },
  { value: '90d', label: '90 days' },
  { value: '365d', label: '1 year' },
];

export function Tokens() {
  const { client } = useSession();
  const tokens = useLoad(() => client.tokens.list(), [client]);
  const revoke = useAction(tokens.reload);
  const [made, setMade] = useState<NewToken>();

  return (
    <Page title="API tokens" intro="Tokens let programs use the REST API without a password: send one as Authorization: Bearer TOKEN. A read-only token can change nothing.">
      <CreateToken
        onMade={(t) => {
          setMade(t);
          tokens.reload();
        }}
      />
      {made !== undefined && (
        <Panel title="New token" class="secret-panel">
          <p>
            Copy the token <strong>{made.info.name || made.info.id}</strong> now: it is shown this once. The node keeps only its hash.
          </p>
          <p>
            <code class="secret" aria-label="Token secret">
              {made.token}
            </code>
          </p>
          <button type="button" onClick={() => setMade(undefined)}>
            Done, hide it
          </button>
        </Panel>
      )}
      <Panel title="Tokens">
        <ErrorNote error={tokens.error} />
        <Outcome message={revoke.message} error={revoke.error} />
        {tokens.data?.length === 0 && <Empty>No token yet.</Empty>}
        {tokens.data !== undefined && tokens.data.length > 0 && (
          <Table label="Tokens" columns={['Name', 'ID', 'Created', 'Expires', 'Access', '']}>
            {tokens.data.map((t) => (
              <tr key={t.id}>
                <td data-label="Name">{t.name || <span class="muted">—</span>}</td>
                <td data-label="ID">
                  <code>{t.id}</code>
                </td>
                <td data-label="Created">{when(t.created_at)}</td>
                <td data-label="Expires">{t.expires_at === null ? 'never' : when(t.expires_at)}</td>
                <td data-label="Access">{t.read_only ? 'read-only' : 'read and write'}</td>
                <td class="actions">
                  <button
                    type="button"
                    class="danger"
                    disabled={revoke.busy}
                    aria-label={`Revoke ${t.name || t.id}`}
                    onClick={() => {
                      if (confirm(`Revoke the token ${t.name || t.id}? Programs using it are refused from now on.`)) {
                        void revoke.run(async () => (await client.tokens.revoke(t.id), `Revoked ${t.name || t.id}.`));
                      }
                    }}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </Table>
        )}
      </Panel>
    </Page>
  );
}

function CreateToken(props: { onMade: (token: NewToken) => void }) {
  const { client } = useSession();
  const [name, setName] = useState('');
  const [expires, setExpires] = useState('');
  const [readOnly, setReadOnly] = useState(false);
  const action = useAction();
  return (
    <Panel title="Create a token">
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(async () => {
            const made = await client.tokens.generate({ name: name.trim() || undefined, expires: expires || undefined, readOnly });
            setName('');
            props.onMade(made);
            return `Created ${made.info.name || made.info.id}.`;
          });
        }}
      >
        <label class="field">
          <span>Token name</span>
          <input name="token-name" value={name} maxLength={64} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>Expires after</span>
          <select name="expires" value={expires} onChange={(e) => setExpires(e.currentTarget.value)}>
            {LIFETIMES.map((l) => (
              <option key={l.value} value={l.value}>
                {l.label}
              </option>
            ))}
          </select>
        </label>
        <label class="check">
          <input type="checkbox" name="read-only" checked={readOnly} onChange={(e) => setReadOnly(e.currentTarget.checked)} /> Read-only
        </label>
        <button type="submit" class="primary" disabled={action.busy}>
          Create token
        </button>
      </form>
      <Outcome message={undefined} error={action.error} />
    </Panel>
  );
}
