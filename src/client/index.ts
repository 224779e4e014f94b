/**
 * The typed Tendril client, for browsers and Node (`import { createClient } from 'tendril/client'`).
 * This entry imports nothing of Node: HTTP over TCP, TLS or the control socket from Node lives in
 * `tendril/client/node` (src/client/node.ts).
 */
export { createClient, type ClientOptions, type SystemStatus, type TendrilClient } from './client.js';
export type { Api, Credentials, UploadOptions } from './core.js';
export { ApiError, isApiError, type JsonResult } from './errors.js';
export { follow, type FollowOptions, type FollowSource } from './follow.js';
export type { KeyringApi, IdentityChanges } from './keyring.js';
export type { MeshmbApi, MeshmsApi, MessageList, FeedMessages, FollowFeedOptions } from './messaging.js';
export type { ConfigApi, NewToken, TokensApi } from './control.js';
export type { DirectApi, DirectMode, DirectSyncRow } from './direct.js';
export { framableFilename, multipartBody, type ByteSource, type Part, type PartBody, type UploadBody } from './multipart.js';
export { MANIFEST_TYPE, type BundleFilter, type BundleHeaders, type ImportOptions, type InsertOptions, type PayloadOptions, type RhizomeApi, type StoreResult, type StoreStatus } from './rhizome.js';
export * from './rows.js';
export type { SyncApi, SyncTotals } from './sync.js';
export { readTableStream, rowObject, tableObjects, type JsonTable, type TableEvent } from './table.js';
export { abortError, fetchTransport, makeResponse, type SendOptions, type Transport } from './transport.js';
export type { paths, components } from './generated/api.js';
