/**
 * A token's lifetime, as `tendril web generate-token --expires` and POST /control/tokens take it: a
 * number with its unit, s, m (minutes), h, d or w. A bare number is refused rather than guessed: 90
 * read as seconds (the unit of other intervals) made a token that died before it was used, and
 * read as days it would surprise whoever expects seconds.
 */
import { parseInterval } from '../../config/values.js';

export const LIFETIME_FORMAT = 'a number and a unit (s, m, h, d, w), e.g. 30m, 12h, 90d, 2w';

/** Milliseconds, or undefined when `text` is not a lifetime with a unit. */
export function parseTokenLifetime(text: string): number | undefined {
  if (!/^\s*\d+(\.\d+)?[smhdw]\s*$/.test(text)) return undefined;
  try {
    const ms = parseInterval(text);
    return ms > 0 ? ms : undefined;
  } catch {
    return undefined;
  }
}
