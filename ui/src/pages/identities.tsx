/** The keyring: list, add, set DID and name, lock, unlock with a PIN, remove. */
import { useState } from 'preact/hooks';
import type { Identity } from '../../../src/client/index.js';
import { Empty, ErrorNote, HexId, Outcome, Page, Panel, Table } from '../components.js';
import { useIdentities, useSession } from '../context.js';
import { useAction } from '../hooks.js';

export function Identities() {
  const { client } = useSession();
  const identities = useIdentities();
  const list = useAction(identities.reload);
  const [editing, setEditing] = useState<string>();

  return (
    <Page title="Identities" intro="Each identity has a SID (its MeshMS address) and a Signing ID (its MeshMB feed). Identities protected by a PIN appear once unlocked.">
      <Panel title="Unlocked identities">
        <ErrorNote error={identities.error} />
        <Outcome message={list.message} error={list.error} />
        {identities.data?.length === 0 && <Empty>No identity is unlocked. Add one below, or unlock those protected by a PIN.</Empty>}
        {identities.data !== undefined && identities.data.length > 0 && (
          <Table label="Unlocked identities" columns={['Name', 'DID', 'SID', 'Signing ID', '']}>
            {identities.data.map((id) =>
              editing === id.sid ? (
                <EditRow key={id.sid} identity={id} onDone={() => (setEditing(undefined), identities.reload())} />
              ) : (
                <tr key={id.sid}>
                  <td data-label="Name">{id.name || <span class="muted">—</span>}</td>
                  <td data-label="DID">{id.did || <span class="muted">—</span>}</td>
                  <td data-label="SID">
                    <HexId value={id.sid} />
                  </td>
                  <td data-label="Signing ID">
                    <HexId value={id.identity} />
                  </td>
                  <td class="actions">
                    <button type="button" onClick={() => setEditing(id.sid)} aria-label={`Edit ${id.name ?? id.sid}`}>
                      Edit
                    </button>
                    <button
                      type="button"
                      disabled={list.busy}
                      aria-label={`Lock ${id.name ?? id.sid}`}
                      onClick={() => void list.run(async () => (await client.keyring.lock(id.sid), `Locked ${id.name ?? id.sid}: its PIN unlocks it again.`))}
                    >
                      Lock
                    </button>
                    <button
                      type="button"
                      class="danger"
                      disabled={list.busy}
                      aria-label={`Remove ${id.name ?? id.sid}`}
                      onClick={() => {
                        if (confirm(`Erase ${id.name ?? id.sid} from the keyring? Its secret keys are lost for good.`)) {
                          void list.run(async () => (await client.keyring.remove(id.sid), `Removed ${id.name ?? id.sid}.`));
                        }
                      }}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ),
            )}
          </Table>
        )}
      </Panel>
      <div class="columns">
        <AddIdentity onAdded={identities.reload} />
        <Unlock onUnlocked={identities.reload} />
      </div>
    </Page>
  );
}

function EditRow(props: { identity: Identity; onDone: () => void }) {
  const { client } = useSession();
  const [name, setName] = useState(props.identity.name ?? '');
  const [did, setDid] = useState(props.identity.did ?? '');
  const action = useAction(props.onDone);
  return (
    <tr class="editing">
      <td colSpan={5}>
        <form
          class="inline"
          aria-label={`Edit ${props.identity.name ?? props.identity.sid}`}
          onSubmit={(e) => {
            e.preventDefault();
            void action.run(async () => (await client.keyring.set(props.identity.sid, { name, did }), 'Saved.'));
          }}
        >
          <label class="field">
            <span>Name</span>
            <input value={name} maxLength={63} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <label class="field">
            <span>DID</span>
            <input value={did} inputMode="tel" pattern="[0-9*#+]{5,31}|" title="5 to 31 of 0-9 * # +" onInput={(e) => setDid(e.currentTarget.value)} />
          </label>
          <button type="submit" class="primary" disabled={action.busy}>
            Save
          </button>
          <button type="button" onClick={props.onDone}>
            Cancel
          </button>
          <Outcome message={undefined} error={action.error} />
        </form>
      </td>
    </tr>
  );
}

function AddIdentity(props: { onAdded: () => void }) {
  const { client } = useSession();
  const [name, setName] = useState('');
  const [did, setDid] = useState('');
  const [pin, setPin] = useState('');
  const action = useAction(props.onAdded);
  return (
    <Panel title="Add an identity">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(async () => {
            const made = await client.keyring.add({ name: name || undefined, did: did || undefined, pin: pin || undefined });
            setName('');
            setDid('');
            setPin('');
            return `Added ${made.name ?? made.sid}${pin ? ', protected by its PIN' : ''}.`;
          });
        }}
      >
        <label class="field">
          <span>Name</span>
          <input name="name" value={name} maxLength={63} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>DID (phone number)</span>
          <input name="did" value={did} inputMode="tel" pattern="[0-9*#+]{5,31}" title="5 to 31 of 0-9 * # +" onInput={(e) => setDid(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>PIN (optional)</span>
          <input name="pin" type="password" autocomplete="new-password" value={pin} onInput={(e) => setPin(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary" disabled={action.busy}>
          Add identity
        </button>
        <Outcome message={action.message} error={action.error} />
      </form>
    </Panel>
  );
}

function Unlock(props: { onUnlocked: () => void }) {
  const { client } = useSession();
  const [pin, setPin] = useState('');
  const action = useAction(props.onUnlocked);
  return (
    <Panel title="Unlock with a PIN">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(async () => {
            const before = (await client.keyring.list()).length;
            const after = (await client.keyring.list({ pin })).length;
            setPin('');
            return after > before ? `Unlocked ${after - before} ${after - before === 1 ? 'identity' : 'identities'}.` : 'That PIN unlocked no further identity.';
          });
        }}
      >
        <label class="field">
          <span>PIN</span>
          <input name="unlock-pin" type="password" autocomplete="off" required value={pin} onInput={(e) => setPin(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary" disabled={action.busy}>
          Unlock
        </button>
        <Outcome message={action.message} error={action.error} />
      </form>
    </Panel>
  );
}
