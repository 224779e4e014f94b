/**
 * The Rhizome Direct service: the server's answers over the store, and the client's sync. It
 * sits beside the Rhizome service and uses it only to import (the same checks as every import);
 * the Rhizome service does not know it.
 */
import type { Logger } from '../../log.js';
import { answerEnquiry } from './enquiry.js';
import { runDirectSync } from './sync.js';
import type { BeginImport, DirectPayload, DirectService, DirectStore } from './types.js';

export interface DirectServiceOptions {
  readonly store: DirectStore;
  readonly beginImport: BeginImport;
  readonly log: Logger;
}

export function createDirectService(options: DirectServiceOptions): DirectService {
  const { store } = options;
  return {
    enquiry: (data) => answerEnquiry(data, (query) => store.barsInRange(query)),
    async manifestByPrefix(prefix) {
      return (await store.findByBidPrefix(prefix))?.manifest;
    },
    async payload(hash): Promise<DirectPayload | undefined> {
      const length = await store.payloadLength(hash);
      if (length === undefined) return undefined;
      return { length, open: async (start, end) => store.readPayload(hash, start, end) };
    },
    beginImport: options.beginImport,
    sync: (syncOptions) => runDirectSync(options, syncOptions),
  };
}
