/**
 * MeshMB: post to an identity's public feed, follow other feeds, and read the activity of the
 * feeds it follows, which follows the node's activity stream live.
 */
import { useState } from 'preact/hooks';
import type { Activity, Feed } from '../../../src/client/index.js';
import { Empty, ErrorNote, HexId, IdentitySelect, Outcome, Page, Panel, Table } from '../components.js';
import { useIdentities, useSession } from '../context.js';
import { when } from '../format.js';
import { go, useAction, useFollow, useLoad } from '../hooks.js';

export function Feeds(props: { id: string | undefined }) {
  const identities = useIdentities();
  const ids = identities.data ?? [];
  const id = props.id ?? ids[0]?.identity;
  return (
    <Page title="Feeds" intro="MeshMB: public feeds. Each identity posts to its own feed (named by its Signing ID) and follows others.">
      <ErrorNote error={identities.error} />
      {identities.data !== undefined && ids.length === 0 && <Empty>No identity is unlocked: add or unlock one on the Identities page first.</Empty>}
      {id !== undefined && (
        <>
          <div class="toolbar">
            <IdentitySelect label="As" by="identity" identities={ids} value={id} onChange={(v) => go('feeds', v)} />
            <p class="muted">
              Feed ID <HexId value={id} />
            </p>
          </div>
          <FeedsOf key={id} id={id} />
        </>
      )}
    </Page>
  );
}

function FeedsOf(props: { id: string }) {
  const { client } = useSession();
  const own = useLoad(() => client.meshmb.messages(props.id), [client, props.id]);
  const feeds = useLoad(() => client.meshmb.feeds(props.id), [client, props.id]);
  const [activity, setActivity] = useState<Activity[]>([]);
  const [activityError, setActivityError] = useState<unknown>();
  // The whole activity, then each new message of a followed feed (or one's own) as it arrives.
  useFollow(
    (signal) => client.meshmb.activityNewsince(props.id, { signal }),
    (row) => setActivity((list) => [row, ...list.filter((a) => !(a.id === row.id && a.offset === row.offset))]),
    setActivityError,
    [client, props.id],
  );
  const sorted = [...activity].sort((a, b) => (b.timestamp ?? 0) - (a.timestamp ?? 0));

  return (
    <>
      <div class="columns">
        <Post id={props.id} onPosted={own.reload} />
        <Follow id={props.id} onChanged={feeds.reload} />
      </div>
      <Panel title="Activity">
        <ErrorNote error={activityError} />
        {sorted.length === 0 ? (
          <Empty>Nothing yet: posts of the feeds you follow, and yours, appear here as they arrive.</Empty>
        ) : (
          <ol class="posts" aria-label="Activity" aria-live="polite">
            {sorted.map((a) => (
              <li key={`${a.id}/${a.offset}`}>
                <p class="text">{a.message}</p>
                <span class="meta">
                  {a.name || <HexId value={a.id} />} · {when(a.timestamp === null ? null : a.timestamp * 1000)}
                </span>
              </li>
            ))}
          </ol>
        )}
      </Panel>
      <Panel title="Followed feeds">
        <ErrorNote error={feeds.error} />
        <FeedTable id={props.id} feeds={feeds.data ?? []} onChanged={feeds.reload} />
      </Panel>
      <Panel title="Your posts">
        <ErrorNote error={own.error} />
        {own.data?.messages.length === 0 && <Empty>You have not posted yet.</Empty>}
        <ol class="posts" aria-label="Your posts">
          {(own.data?.messages ?? []).map((m) => (
            <li key={m.offset}>
              <p class="text">{m.text}</p>
              <span class="meta">{when(m.timestamp === null ? null : m.timestamp * 1000)}</span>
            </li>
          ))}
        </ol>
      </Panel>
    </>
  );
}

function Post(props: { id: string; onPosted: () => void }) {
  const { client } = useSession();
  const [text, setText] = useState('');
  const action = useAction(props.onPosted);
  return (
    <Panel title="Post">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(async () => {
            await client.meshmb.send(props.id, text.trim());
            setText('');
            return 'Posted.';
          });
        }}
      >
        <label class="field">
          <span>Message</span>
          <textarea name="post" rows={3} maxLength={4094} required value={text} onInput={(e) => setText(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary" disabled={action.busy || text.trim() === ''}>
          Post
        </button>
        <Outcome message={action.message} error={action.error} />
      </form>
    </Panel>
  );
}

function Follow(props: { id: string; onChanged: () => void }) {
  const { client } = useSession();
  const [feed, setFeed] = useState('');
  const [name, setName] = useState('');
  const action = useAction(props.onChanged);
  return (
    <Panel title="Follow a feed">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(async () => {
            await client.meshmb.follow(props.id, feed.trim(), { name: name.trim() || undefined });
            setFeed('');
            setName('');
            return 'Following.';
          });
        }}
      >
        <label class="field">
          <span>Feed ID (a Signing ID)</span>
          <input name="feed" required pattern="[0-9A-Fa-f]{64}" title="64 hex digits" value={feed} onInput={(e) => setFeed(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>Show it as (optional)</span>
          <input name="feed-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary" disabled={action.busy}>
          Follow
        </button>
        <Outcome message={action.message} error={action.error} />
      </form>
    </Panel>
  );
}

function FeedTable(props: { id: string; feeds: readonly Feed[]; onChanged: () => void }) {
  const { client } = useSession();
  const action = useAction(props.onChanged);
  if (props.feeds.length === 0) return <Empty>You follow no feed yet.</Empty>;
  return (
    <>
      <Outcome message={action.message} error={action.error} />
      <Table label="Followed feeds" columns={['Name', 'Feed ID', 'Last message', '']}>
        {props.feeds.map((f) => (
          <tr key={f.id}>
            <td data-label="Name">
              {f.name ?? <span class="muted">—</span>}
              {f.blocked && <span class="badge">blocked</span>}
            </td>
            <td data-label="Feed ID">
              <HexId value={f.id} />
            </td>
            <td data-label="Last message">{f.last_message ?? <span class="muted">—</span>}</td>
            <td class="actions">
              <button type="button" disabled={action.busy} onClick={() => void action.run(async () => (await client.meshmb.ignore(props.id, f.id), 'No longer followed.'))}>
                {f.blocked ? 'Unblock' : 'Unfollow'}
              </button>
              {!f.blocked && (
                <button type="button" class="danger" disabled={action.busy} onClick={() => void action.run(async () => (await client.meshmb.block(props.id, f.id), 'Blocked.'))}>
                  Block
                </button>
              )}
            </td>
          </tr>
        ))}
      </Table>
    </>
  );
}
