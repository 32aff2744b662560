// Flag parsing shared by the commands: numbers are checked once, with an error naming the flag.
import { fail } from '../errors.js';

/** A numeric flag's value; undefined when the flag was not given. */
export function numberFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--${flag} must be a number, got '${value}'`, { parameter: flag, field: flag });
  return n;
}
