/**
 * Request limits, in one place. The first two mirror the reference's 8 KiB request buffer
 * (spec §1.5); the rest bound what a hostile client can make the node hold or wait for.
 */

/** Bytes of the request line that fit in the reference's buffer after its fixed reservations. */
export const MAX_REQUEST_LINE = 8192 - 88;
/** Node's cap on the request line plus headers; longer requests get 431 from its parser. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** Node keeps at most this many headers and drops the rest; the pipeline refuses such floods (431). */
export const MAX_HEADER_COUNT = 500;
/** A connection that sends or accepts nothing for this long is closed (the reference uses 20 s). */
export const IDLE_TIMEOUT_MS = 20_000;
