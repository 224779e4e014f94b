/**
 * Rhizome bundle and payload statuses and how they become an HTTP status (spec §3.1). Clients
 * read both the numeric codes and the exact messages, so they are the reference's, word for word.
 */

export const BundleStatus = {
  ERROR: -1,
  NEW: 0,
  SAME: 1,
  DUPLICATE: 2,
  OLD: 3,
  INVALID: 4,
  FAKE: 5,
  INCONSISTENT: 6,
  NO_ROOM: 7,
  READONLY: 8,
  BUSY: 9,
  MANIFEST_TOO_BIG: 10,
} as const;
export type BundleStatus = (typeof BundleStatus)[keyof typeof BundleStatus];

export const PayloadStatus = {
  ERROR: -1,
  EMPTY: 0,
  NEW: 1,
  STORED: 2,
  WRONG_SIZE: 3,
  WRONG_HASH: 4,
  CRYPTO_FAIL: 5,
  TOO_BIG: 6,
  EVICTED: 7,
  BUSY: 8,
} as const;
export type PayloadStatus = (typeof PayloadStatus)[keyof typeof PayloadStatus];

const BUNDLE: Record<BundleStatus, readonly [message: string, http: number]> = {
  [-1]: ['Internal error', 500],
  0: ['Bundle new to store', 201],
  1: ['Bundle already in store', 200],
  2: ['Duplicate bundle already in store', 200],
  3: ['Newer bundle already in store', 202],
  4: ['Invalid manifest', 422],
  5: ['Manifest signature does not verify', 419],
  6: ['Manifest inconsistent with supplied payload', 422],
  7: ['No room in store for bundle', 202],
  8: ['Bundle is read-only', 419],
  9: ['Database is busy', 423],
  10: ['Manifest too big', 422],
};

const PAYLOAD: Record<PayloadStatus, readonly [message: string, http: number]> = {
  [-1]: ['Internal error', 500],
  0: ['Payload empty', 200],
  1: ['Payload new to store', 201],
  2: ['Payload already in store', 200],
  3: ['Payload size contradicts manifest', 422],
  4: ['Payload hash contradicts manifest', 422],
  5: ['Incorrect bundle secret', 419],
  6: ['Payload size exceeds store', 202],
  7: ['Payload evicted', 202],
  8: ['busy storage', 423],
};

export function bundleStatusMessage(status: BundleStatus): string {
  return BUNDLE[status][0];
}

export function payloadStatusMessage(status: PayloadStatus): string {
  return PAYLOAD[status][0];
}

/** The outcome of a Rhizome request: the statuses and a base status/reason from the caller. */
export interface RhizomeOutcome {
  /** The caller's HTTP status (0: let the statuses decide) and reason. */
  readonly http?: number;
  readonly reason?: string;
  readonly bundle?: BundleStatus;
  /** Replaces the bundle status's default message (e.g. "Missing bundle secret"). */
  readonly bundleMessage?: string;
  readonly payload?: PayloadStatus;
}

/**
 * The HTTP status and reason of an outcome: start from the caller's; the bundle status, then the
 * payload status, raise it when their HTTP code is greater, lending their message as the reason if
 * there is none yet; nothing at all is 500 "Invalid result".
 */
export function httpStatusOf(outcome: RhizomeOutcome): { status: number; reason: string | undefined } {
  let status = outcome.http ?? 0;
  let reason = outcome.reason;
  if (outcome.bundle !== undefined) {
    const [message, http] = BUNDLE[outcome.bundle];
    if (http > status) {
      status = http;
      reason ??= outcome.bundleMessage ?? message;
    }
  }
  if (outcome.payload !== undefined) {
    const [message, http] = PAYLOAD[outcome.payload];
    if (http > status) {
      status = http;
      reason ??= message;
    }
  }
  return status === 0 ? { status: 500, reason: 'Invalid result' } : { status, reason };
}
