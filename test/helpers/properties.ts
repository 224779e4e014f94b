/**
 * Test support for property-based tests: the one rule every parser must keep — whatever the
 * input, it returns or throws a TendrilError from the catalogue (src/errors.ts), never a
 * TypeError, a RangeError or anything else a client would see as an opaque 500.
 */
import assert from 'node:assert/strict';
import { CATALOGUE, isTendrilError, type ErrorCode } from '../../src/errors.js';

/**
 * Runs `fn`; returns its value, or the code of the catalogue error it threw. Anything else that is
 * thrown, or a code outside `allowed` (when given), fails the assertion.
 */
export function outcomeOf<T>(fn: () => T, allowed?: readonly ErrorCode[]): T | ErrorCode {
  try {
    return fn();
  } catch (err) {
    assert.ok(isTendrilError(err), `threw something other than a TendrilError: ${String(err)}`);
    assert.ok(Object.hasOwn(CATALOGUE, err.code), `unknown error code ${err.code}`);
    if (allowed) assert.ok(allowed.includes(err.code), `unexpected error code ${err.code} (${err.message})`);
    return err.code;
  }
}

/** The async twin of outcomeOf. */
export async function outcomeOfAsync<T>(fn: () => Promise<T>, allowed?: readonly ErrorCode[]): Promise<T | ErrorCode> {
  try {
    return await fn();
  } catch (err) {
    assert.ok(isTendrilError(err), `threw something other than a TendrilError: ${String(err)}`);
    assert.ok(Object.hasOwn(CATALOGUE, err.code), `unknown error code ${err.code}`);
    if (allowed) assert.ok(allowed.includes(err.code), `unexpected error code ${err.code} (${err.message})`);
    return err.code;
  }
}

/** True when `text` survives a UTF-8 round trip (no lone surrogates). */
export function isWellFormed(text: string): boolean {
  return Buffer.from(text, 'utf8').toString('utf8') === text;
}

/**
 * Names that a plain-object lookup table finds on Object.prototype: a parser that looks input up
 * in `{...}[text]` must not take them for entries.
 */
export const PROTOTYPE_NAMES = [
  'constructor',
  '__proto__',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
  '__lookupGetter__',
] as const;
