// Hyperparameter checks shared by every loss: each names the loss and the parameter it rejects.

import { fail } from '../errors.js';

function bad(loss: string, param: string, want: string, got: unknown): never {
  throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `loss ${loss}: hyperparameter ${param} must be ${want}, got ${JSON.stringify(got)}`, {
    loss,
    parameter: param,
  });
}

function finite(loss: string, param: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(loss, param, 'a finite number', v);
  return v as number;
}

export const check = {
  positive(loss: string, param: string, v: unknown): void {
    if (finite(loss, param, v) <= 0) bad(loss, param, '> 0', v);
  },
  nonNegative(loss: string, param: string, v: unknown): void {
    if (finite(loss, param, v) < 0) bad(loss, param, '>= 0', v);
  },
  number(loss: string, param: string, v: unknown): void {
    finite(loss, param, v);
  },
  /** lo <= v < hi (hi exclusive), e.g. label smoothing in [0, 0.5). */
  range(loss: string, param: string, v: unknown, lo: number, hi: number, hiInclusive = false): void {
    const x = finite(loss, param, v);
    if (x < lo || (hiInclusive ? x > hi : x >= hi)) bad(loss, param, `in [${lo}, ${hi}${hiInclusive ? ']' : ')'}`, v);
  },
  oneOf<T extends string>(loss: string, param: string, v: unknown, options: readonly T[]): void {
    if (!options.includes(v as T)) bad(loss, param, `one of ${options.join(', ')}`, v);
  },
  boolean(loss: string, param: string, v: unknown): void {
    if (typeof v !== 'boolean') bad(loss, param, 'true or false', v);
  },
  dynamicBeta(loss: string, v: unknown): void {
    if (v === undefined) return;
    if (typeof v !== 'object' || v === null) bad(loss, 'dynamicBeta', 'an object {w, k}', v);
    const o = v as { w: unknown; k: unknown };
    check.nonNegative(loss, 'dynamicBeta.w', o.w);
    check.positive(loss, 'dynamicBeta.k', o.k);
  },
};

/** Reject keys a loss does not know, so a typo (`lable_smoothing`) is not silently ignored. */
export function checkKnownKeys(loss: string, hp: object, defaults: object, optional: readonly string[] = []): void {
  const known = new Set([...Object.keys(defaults), ...optional]);
  for (const k of Object.keys(hp))
    if (!known.has(k))
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `loss ${loss}: unknown hyperparameter ${k} (known: ${[...known].join(', ')})`, { loss, parameter: k });
}
