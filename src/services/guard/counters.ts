/**
 * Refusal figures for `/restful/system` and the log: how many wrong PINs and failed
 * authentications the node has seen, and how many attempts, connections and long-polls it turned
 * away. One mutable record that the guards and the admission control add to, read by the status.
 */
export interface SecurityCounters {
  /** PINs that opened nothing. */
  wrongPins: number;
  /** PIN attempts answered 429 (waiting out earlier failures, or too many queued). */
  pinRefusals: number;
  /** Credentials refused with 401 (missing ones not counted). */
  authFailures: number;
  /** Authentications answered 429 while failures were being paid for. */
  authRefusals: number;
  connectionsRefused: number;
  longPollsRefused: number;
}

export function newSecurityCounters(): SecurityCounters {
  return { wrongPins: 0, pinRefusals: 0, authFailures: 0, authRefusals: 0, connectionsRefused: 0, longPollsRefused: 0 };
}
