/**
 * MeshMS: an identity's conversations, and a conversation as a chat. The chat follows the
 * conversation's newsince stream, so a message sent from anywhere (another tab, another node, the
 * CLI) appears without a reload; the list of conversations follows the store's new MeshMS bundles.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Conversation, Identity, Message } from '../../../src/client/index.js';
import { Empty, ErrorNote, HexId, IdentitySelect, identityName, Page, Panel } from '../components.js';
import { useIdentities, useSession } from '../context.js';
import { short } from '../format.js';
import { go, useDebounced, useFollow, useLoad } from '../hooks.js';

const SID_RE = /^[0-9A-Fa-f]{64}$/;

export function Messages(props: { my: string | undefined; their: string | undefined }) {
  const identities = useIdentities();
  const ids = identities.data ?? [];
  const my = props.my ?? ids[0]?.sid;
  const nameOf = (sid: string): string => {
    const local = ids.find((i) => i.sid.toUpperCase() === sid.toUpperCase());
    return local ? identityName(local) : short(sid);
  };
  return (
    <Page title="Messages" intro="MeshMS: private conversations between two identities, carried by Rhizome.">
      <ErrorNote error={identities.error} />
      {identities.data !== undefined && ids.length === 0 && <Empty>No identity is unlocked: add or unlock one on the Identities page first.</Empty>}
      {my !== undefined && (
        <div class="chat-layout">
          <Conversations my={my} identities={ids} selected={props.their} nameOf={nameOf} />
          {props.their !== undefined ? (
            <Chat key={`${my}/${props.their}`} my={my} their={props.their} nameOf={nameOf} />
          ) : (
            <Panel title="Conversation" class="chat">
              <Empty>Choose a conversation, or start one.</Empty>
            </Panel>
          )}
        </div>
      )}
    </Page>
  );
}

function Conversations(props: { my: string; identities: readonly Identity[]; selected: string | undefined; nameOf: (sid: string) => string }) {
  const { client } = useSession();
  const list = useLoad(() => client.meshms.conversations(props.my), [client, props.my]);
  const [their, setTheir] = useState('');
  const refresh = useDebounced(list.reload, 300);
  // A new MeshMS bundle to or from me: a conversation may have started or grown.
  useFollow((signal) => client.rhizome.newsince({ service: 'MeshMS2', recipient: props.my, signal }), refresh, () => {}, [client, props.my]);
  const others = props.identities.filter((i) => i.sid !== props.my);

  return (
    <Panel title="Conversations" class="conversations">
      <IdentitySelect label="As" identities={props.identities} value={props.my} onChange={(sid) => go('messages', sid)} />
      <ErrorNote error={list.error} />
      <ul class="conversation-list" aria-label="Conversations">
        {(list.data ?? []).map((c: Conversation) => (
          <li key={c.their_sid}>
            <a href={`#/messages/${props.my}/${c.their_sid}`} aria-current={props.selected?.toUpperCase() === c.their_sid.toUpperCase() ? 'true' : undefined}>
              <span>{props.nameOf(c.their_sid)}</span>
              {!c.read && <span class="badge">new</span>}
            </a>
          </li>
        ))}
      </ul>
      {list.data?.length === 0 && <Empty>No conversation yet.</Empty>}
      <form
        class="start"
        onSubmit={(e) => {
          e.preventDefault();
          if (SID_RE.test(their.trim())) go('messages', props.my, their.trim().toUpperCase());
        }}
      >
        <label class="field">
          <span>Start a conversation with (SID)</span>
          <input name="their-sid" list="local-sids" required pattern="[0-9A-Fa-f]{64}" title="64 hex digits" value={their} onInput={(e) => setTheir(e.currentTarget.value)} />
          <datalist id="local-sids">
            {others.map((i) => (
              <option key={i.sid} value={i.sid}>
                {identityName(i)}
              </option>
            ))}
          </datalist>
        </label>
        <button type="submit">Open</button>
      </form>
    </Panel>
  );
}

function Chat(props: { my: string; their: string; nameOf: (sid: string) => string }) {
  const { client } = useSession();
  const [messages, setMessages] = useState<Message[]>();
  /** Where the live stream starts: after the newest message first listed. */
  const [start, setStart] = useState<{ token: string | undefined }>();
  const [error, setError] = useState<unknown>();
  const [text, setText] = useState('');
  const [sending, setSending] = useState(false);
  const end = useRef<HTMLLIElement>(null);

  const load = async (): Promise<Message[]> => {
    const list = await client.meshms.messages(props.my, props.their);
    setMessages(list.messages);
    setError(undefined);
    // Reading the list acknowledges their messages; mark them read too (a read-only token may not: no matter).
    if (list.messages.some((m) => m.type === '<' && !m.read)) client.meshms.markRead(props.my, props.their).catch(() => {});
    return list.messages;
  };
  const reload = useDebounced(() => void load().catch(setError), 100);

  useEffect(() => {
    load().then(
      (first) => setStart({ token: first[0]?.token }),
      (err: unknown) => setError(err),
    );
  }, []);
  useFollow(start && ((signal) => client.meshms.newsince(props.my, props.their, { token: start.token, signal })), reload, setError, [start]);
  useEffect(() => end.current?.scrollIntoView({ block: 'end' }), [messages?.length]);

  const send = async (e: Event): Promise<void> => {
    e.preventDefault();
    const message = text.trim();
    if (message === '') return;
    setSending(true);
    try {
      await client.meshms.send(props.my, props.their, message);
      setText('');
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setSending(false);
    }
  };

  const shown = (messages ?? []).filter((m) => m.type !== 'ACK').reverse();
  return (
    <Panel title={`Conversation with ${props.nameOf(props.their)}`} class="chat">
      <p class="muted">
        Their SID <HexId value={props.their} />
      </p>
      <ErrorNote error={error} />
      <div role="log" aria-label="Messages" aria-live="polite">
      <ol class="messages">
        {messages !== undefined && shown.length === 0 && <li class="empty">No message yet: say hello.</li>}
        {shown.map((m) => (
          <li key={`${m.type}${m.type === '>' ? m.my_offset : m.their_offset}`} class={m.type === '>' ? 'sent' : 'received'}>
            <span class="sr-only">{m.type === '>' ? 'You:' : `${props.nameOf(props.their)}:`}</span>
            <p class="text">{m.text}</p>
            <span class="meta">
              {m.timestamp ? new Date(m.timestamp * 1000).toLocaleTimeString() : ''}
              {m.type === '>' && (m.delivered ? ' · delivered' : ' · sent')}
            </span>
          </li>
        ))}
        <li ref={end} class="end" aria-hidden="true" />
      </ol>
      </div>
      <form class="composer" onSubmit={(e) => void send(e)}>
        <label class="field grow">
          <span class="sr-only">Message</span>
          <textarea
            name="message"
            rows={2}
            maxLength={4094}
            placeholder="Write a message"
            aria-label="Message"
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey) {
                e.preventDefault();
                (e.currentTarget.form as HTMLFormElement).requestSubmit();
              }
            }}
          />
        </label>
        <button type="submit" class="primary" disabled={sending || text.trim() === ''}>
          Send
        </button>
      </form>
    </Panel>
  );
}
