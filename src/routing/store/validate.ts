// Checks on what goes into the label store, shared by both backends so a value one accepts the
// other accepts too. Text must be well-formed Unicode: SQLite would store a lone surrogate as bytes
// that are not UTF-8 and read them back as other characters (a pair id then matches no row), and
// PostgreSQL refuses such text as well as U+0000. Errors name the field the caller sent.

import { fail } from '../../errors.js';

/**
 * Deepest nesting of a pair's `extra` object. It is stored as JSON text; serializing thousands of
 * levels exhausts the stack, and no dataset column needs more than a handful.
 */
export const MAX_EXTRA_DEPTH = 64;

const LONE_SURROGATE = /\p{Cs}/u;

/** Whether the store can hold this text at all; a lookup by text it cannot hold finds nothing. */
export function storable(value: string): boolean {
  return !LONE_SURROGATE.test(value) && !value.includes('\u0000');
}

export function checkText(value: string, field: string): void {
  const surrogate = LONE_SURROGATE.exec(value);
  if (surrogate) {
    const code = surrogate[0].charCodeAt(0).toString(16);
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `${field} is not well-formed Unicode: it holds a lone surrogate (\\u${code}) at character ${surrogate.index}`, { field });
  }
  const nul = value.indexOf('\u0000');
  if (nul >= 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `${field} holds a NUL character (\\u0000) at character ${nul}, which the label store cannot keep`, { field });
}

export function checkId(value: string, field: string): void {
  if (typeof value !== 'string' || value.length === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `${field} must be a non-empty string`, { field });
  checkText(value, field);
}

/** Nesting depth of a JSON value, walked without recursion so any depth can be measured. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    deepest = Math.max(deepest, d + 1);
    if (deepest > MAX_EXTRA_DEPTH) return deepest;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return deepest;
}

export function checkExtra(extra: unknown, field: string): void {
  if (extra === undefined) return;
  if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `${field} must be an object`, { field });
  if (depthOf(extra) > MAX_EXTRA_DEPTH) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `${field} is nested more than ${MAX_EXTRA_DEPTH} levels deep`, { field });
}

export function checkScale(scale: number, confidence: number): void {
  if (!Number.isInteger(scale) || scale < -2 || scale > 2) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `label scale must be an integer in -2..2, got ${scale}`, { field: 'scale' });
  if (!(confidence >= 0 && confidence <= 1)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `label confidence must be in [0, 1], got ${confidence}`, { field: 'confidence' });
}

/** What a caller calls a pair's fields, for error messages (the HTTP API says `response_a`). */
export const PAIR_FIELD_NAMES = { id: 'id', prompt: 'prompt', responseA: 'responseA', responseB: 'responseB', extra: 'extra' } as const;
export type PairFieldNames = Record<keyof typeof PAIR_FIELD_NAMES, string>;

export function checkPair(pair: { id: string; prompt: string; responseA: string; responseB: string; extra?: unknown }, at: string, names: PairFieldNames = PAIR_FIELD_NAMES): void {
  checkId(pair.id, `${at}.${names.id}`);
  for (const key of ['prompt', 'responseA', 'responseB'] as const) {
    if (typeof pair[key] !== 'string') throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `${at}.${names[key]} must be a string`, { field: `${at}.${names[key]}` });
    checkText(pair[key], `${at}.${names[key]}`);
  }
  checkExtra(pair.extra, `${at}.${names.extra}`);
}
