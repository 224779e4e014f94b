/**
 * MeshMS conversations (spec §4) and MeshMB feeds (spec §5). MeshMS addresses identities by SID;
 * MeshMB by Signing ID (the `identity` of a keyring row), a feed by its author's Signing ID.
 */
import { get, ok, postForm, type Core } from './core.js';
import { apiErrorOf } from './errors.js';
import { follow, type FollowOptions } from './follow.js';
import type { Activity, Conversation, Feed, FeedMessage, Message } from './rows.js';
import { tableObjects } from './table.js';

export interface MessageList {
  readonly readOffset: number;
  readonly latestAckOffset: number;
  /** Newest first. */
  readonly messages: Message[];
}

export interface MeshmsApi {
  conversations(my: string): Promise<Conversation[]>;
  /** The messages of a conversation, newest first (acknowledging new ones, as the reference does). */
  messages(my: string, their: string): Promise<MessageList>;
  /** The conversation's messages (after `token`), then new ones as they arrive, forever. */
  newsince(my: string, their: string, options?: FollowOptions): AsyncGenerator<Message>;
  send(my: string, their: string, text: string): Promise<void>;
  /** Marks every conversation read, or one conversation (`their`), or one up to `offset`. */
  markRead(my: string, their?: string, offset?: number): Promise<void>;
}

export interface FeedMessages {
  readonly name: string | undefined;
  readonly messages: FeedMessage[];
}

export interface FollowFeedOptions {
  /** Show the feed under this name. */
  readonly name?: string;
  /** The feed author's SID, until the feed itself arrives. */
  readonly sender?: string;
}

export interface MeshmbApi {
  /** Appends a message to the identity's own feed. */
  send(id: string, text: string): Promise<void>;
  messages(feed: string): Promise<FeedMessages>;
  newsince(feed: string, options?: FollowOptions): AsyncGenerator<FeedMessage>;
  feeds(id: string): Promise<Feed[]>;
  activity(id: string): Promise<Activity[]>;
  /** Activity (after `token`), then new activity as it arrives, forever. */
  activityNewsince(id: string, options?: FollowOptions): AsyncGenerator<Activity>;
  follow(id: string, feed: string, options?: FollowFeedOptions): Promise<void>;
  ignore(id: string, feed: string): Promise<void>;
  block(id: string, feed: string, options?: { sender?: string }): Promise<void>;
}

const tokenPath = (token: string | undefined): string => (token === undefined ? '' : `${encodeURIComponent(token)}/`);

async function sendText(core: Core, path: string, text: string): Promise<void> {
  const response = await postForm(core, path, [{ name: 'message', contentType: 'text/plain; charset=utf-8', body: text }]);
  if (response.status !== 201) throw await apiErrorOf(response);
  await response.arrayBuffer();
}

export function meshmsApi(core: Core): MeshmsApi {
  const { api } = core;
  const pair = (my: string, their: string) => ({ path: { my, their } });
  return {
    async conversations(my) {
      return tableObjects<Conversation>(await ok(api.GET('/restful/meshms/{my}/conversationlist.json', { params: { path: { my } } })));
    },
    async messages(my, their) {
      const table = await ok(api.GET('/restful/meshms/{my}/{their}/messagelist.json', { params: pair(my, their) }));
      const extra = table as unknown as { read_offset: number; latest_ack_offset: number };
      return { readOffset: extra.read_offset, latestAckOffset: extra.latest_ack_offset, messages: tableObjects<Message>(table) };
    },
    newsince(my, their, options = {}) {
      const base = `/restful/meshms/${encodeURIComponent(my)}/${encodeURIComponent(their)}/newsince/`;
      return follow<Message>({ tokenColumn: 'token', open: (token, signal) => get(core, `${base}${tokenPath(token)}messagelist.json`, { signal }) }, options);
    },
    send: (my, their, text) => sendText(core, `/restful/meshms/${encodeURIComponent(my)}/${encodeURIComponent(their)}/sendmessage`, text),
    async markRead(my, their, offset) {
      if (their === undefined) await ok(api.POST('/restful/meshms/{my}/readall', { params: { path: { my } } }));
      else if (offset === undefined) await ok(api.POST('/restful/meshms/{my}/{their}/readall', { params: pair(my, their) }));
      else await ok(api.POST('/restful/meshms/{my}/{their}/recv/{offset}/read', { params: { path: { my, their, offset } } }));
    },
  };
}

export function meshmbApi(core: Core): MeshmbApi {
  const { api } = core;
  const idFeed = (id: string, feed: string) => ({ id, feed });
  return {
    send: (id, text) => sendText(core, `/restful/meshmb/${encodeURIComponent(id)}/sendmessage`, text),
    async messages(feed) {
      const table = await ok(api.GET('/restful/meshmb/{feed}/messagelist.json', { params: { path: { feed } } }));
      return { name: (table as unknown as { name?: string }).name, messages: tableObjects<FeedMessage>(table) };
    },
    newsince(feed, options = {}) {
      const base = `/restful/meshmb/${encodeURIComponent(feed)}/newsince/`;
      return follow<FeedMessage>({ tokenColumn: 'token', open: (token, signal) => get(core, `${base}${tokenPath(token)}messagelist.json`, { signal }) }, options);
    },
    async feeds(id) {
      return tableObjects<Feed>(await ok(api.GET('/restful/meshmb/{id}/feedlist.json', { params: { path: { id } } })));
    },
    async activity(id) {
      return tableObjects<Activity>(await ok(api.GET('/restful/meshmb/{id}/activity.json', { params: { path: { id } } })));
    },
    activityNewsince(id, options = {}) {
      const base = `/restful/meshmb/${encodeURIComponent(id)}/activity/`;
      return follow<Activity>({ tokenColumn: '.token', open: (token, signal) => get(core, `${base}${tokenPath(token)}activity.json`, { signal }) }, options);
    },
    async follow(id, feed, options = {}) {
      await ok(api.POST('/restful/meshmb/{id}/follow/{feed}', { params: { path: idFeed(id, feed), query: { name: options.name, sender: options.sender } } }));
    },
    async ignore(id, feed) {
      await ok(api.POST('/restful/meshmb/{id}/ignore/{feed}', { params: { path: idFeed(id, feed) } }));
    },
    async block(id, feed, options = {}) {
      await ok(api.POST('/restful/meshmb/{id}/block/{feed}', { params: { path: idFeed(id, feed), query: { sender: options.sender } } }));
    },
  };
}
