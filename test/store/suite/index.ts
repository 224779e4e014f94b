/**
 * One suite for every Rhizome store backend (after libp2p's datastore interface tests): each
 * backend's test file calls rhizomeStoreSuite() with its factory, so SQLite and PostgreSQL are
 * held to the same contract (src/store/rhizome/types.ts). Backend-specific behaviour (files,
 * locks, recovery, connections) is tested beside each backend's own test file.
 */
import { bundleTests } from './bundles.js';
import { directTests } from './direct.js';
import type { StoreFactory } from './factory.js';
import { keyTests } from './keys.js';
import { largeTests } from './large.js';
import { listingTests } from './listings.js';
import { payloadTests } from './payloads.js';
import { roomTests } from './room.js';

export type { StoreFactory, StoreLocation } from './factory.js';

export function rhizomeStoreSuite(factory: StoreFactory): void {
  bundleTests(factory);
  listingTests(factory);
  payloadTests(factory);
  roomTests(factory);
  largeTests(factory);
  keyTests(factory);
  directTests(factory);
}
