// Flag parsing shared by the commands: one wrapper over node:util parseArgs that turns its errors
// into one-line usage errors naming the closest valid flag, the `--help` text rendered from a
// command's flag table (with defaults), and numbers checked once with an error naming the flag.
//
// node:util parseArgs does the parsing (no dependency, and every command already spoke its option
// shape); what it lacks is suggestions and help text, which are small enough to keep here.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fail } from '../errors.js';
import type { FlagSpec, FlagTable } from './registry.js';

/** A numeric flag's value; undefined when the flag was not given. */
export function numberFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--${flag} must be a number, got '${value}'`, { parameter: flag, field: flag });
  return n;
}

/** Optimal-string-alignment distance (Levenshtein plus adjacent transpositions: `stpes` -> `steps` is 1). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate nearest to `name` (ties to the first listed; a prefix match counts as near), or
 * undefined when even the nearest is more than `maxDistance` edits away.
 */
export function closest(name: string, candidates: readonly string[], maxDistance = Infinity): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const score = c.startsWith(name) || name.startsWith(c) ? Math.min(editDistance(name, c), 1) : editDistance(name, c);
    if (score < bestScore) [best, bestScore] = [c, score];
  }
  return bestScore <= maxDistance ? best : undefined;
}

/** Edits within which a mistyped command or subcommand word is worth suggesting a correction for. */
export const WORD_SUGGESTION_DISTANCE = 2;

/** A command line the command cannot take: main.ts prints it on one line and exits 2. */
export function usageError(message: string, details: Record<string, unknown> = {}): Error {
  return fail('ALIGNKIT_ERR_USAGE', message, details);
}

const HELP_FLAGS = new Set(['help', 'h']);

/** parseArgs' option table from a flag table (help texts stripped). */
function parseArgsOptions(flags: FlagTable): NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(
    Object.entries(flags).map(([name, f]) => [name, { type: f.type, ...(f.multiple && { multiple: true }), ...(f.short && { short: f.short }), ...(f.default !== undefined && { default: f.default }) }]),
  ) as NonNullable<ParseArgsConfig['options']>;
}

/** True when argv asks for help (`--help` or `-h` as a flag, not as another flag's value, not after `--`). */
export function wantsHelp(argv: readonly string[], flags: FlagTable = {}): boolean {
  const { tokens } = parseArgs({ args: [...argv], options: parseArgsOptions(flags), strict: false, allowPositionals: true, tokens: true });
  return tokens.some((t) => t.kind === 'option' && HELP_FLAGS.has(t.name));
}

/** Turns a parseArgs error into a one-line usage error that names the closest valid flag. */
export function explainParseError(e: unknown, command: string, valid: readonly string[]): Error {
  const code = (e as { code?: string }).code;
  const message = (e as Error).message ?? String(e);
  const more = `(alignkit ${command} --help lists the flags)`;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const raw = /'([^']+)'/.exec(message)?.[1] ?? '';
    const name = raw.replace(/^-+/, '').replace(/=.*$/, '');
    const near = closest(name, valid);
    return usageError(`unknown flag ${raw}${near ? `; did you mean --${near}?` : ''} ${more}`, { parameter: name, closest: near });
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /'(-[^' <]+)/.exec(message)?.[1] ?? '';
    const takesNone = /does not take an argument/.test(message);
    return usageError(takesNone ? `${flag} takes no value ${more}` : `${flag} needs a value (to pass one starting with a dash, write ${flag}=-VALUE) ${more}`, { parameter: flag.replace(/^-+/, '') });
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /'([^']*)'/.exec(message)?.[1] ?? '';
    return usageError(`unexpected argument '${arg}' ${more}`, { parameter: arg });
  }
  return e as Error;
}

export interface ParsedFlags {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/**
 * Parses argv against a flag table (strict: unknown flags and missing values are usage errors
 * naming the flag). `positionals` names what the command takes; more than that is an error.
 */
export function parseFlags(command: string, flags: FlagTable, argv: readonly string[], positionals: readonly string[] = []): ParsedFlags {
  try {
    const r = parseArgs({ args: [...argv], options: parseArgsOptions(flags), strict: true, allowPositionals: positionals.length > 0 });
    if (r.positionals.length > positionals.length)
      throw usageError(`unexpected argument '${r.positionals[positionals.length]}': alignkit ${command} takes ${positionals.join(' ')} (alignkit ${command} --help lists the flags)`, { parameter: r.positionals[positionals.length] });
    return { values: r.values as ParsedFlags['values'], positionals: r.positionals };
  } catch (e) {
    throw explainParseError(e, command, Object.keys(flags));
  }
}

/** `--name VALUE` (or `-s, --name` when it has a short form) as the help column shows it. */
function flagLabel(name: string, f: FlagSpec): string {
  const value = f.type === 'string' ? ` ${f.value ?? name.toUpperCase().replace(/-/g, '_')}` : '';
  return `${f.short ? `-${f.short}, ` : ''}--${name}${value}${f.multiple ? ' ...' : ''}`;
}

function defaultText(f: FlagSpec): string {
  const d = f.default !== undefined && f.type === 'string' ? (Array.isArray(f.default) ? f.default.join(' ') : String(f.default)) : f.shownDefault;
  return d === undefined ? '' : ` (default ${d})`;
}

/** Words of `text` in lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

const HELP_WIDTH = 100;
const LABEL_WIDTH = 26;

/** The flag list of `--help`: one entry per flag with its help and default, wrapped; long labels on their own line. */
export function flagHelp(flags: FlagTable): string {
  const labels = Object.entries(flags).map(([name, f]) => [flagLabel(name, f), f] as const);
  const width = Math.min(Math.max(...labels.map(([l]) => l.length), 10) + 2, LABEL_WIDTH);
  const indent = `  ${''.padEnd(width)}`;
  const lines = labels.map(([label, f]) => {
    const text = wrap(`${f.help ?? ''}${defaultText(f)}`, HELP_WIDTH - indent.length);
    const first = label.length + 2 > width ? `  ${label}\n${indent}${text[0]}` : `  ${label.padEnd(width)}${text[0]}`;
    return [first, ...text.slice(1).map((t) => indent + t)].join('\n');
  });
  return [...lines, `  ${'-h, --help'.padEnd(width)}print this help`].join('\n');
}

/** A command's usage: synopsis, what it does, its flags with defaults, then notes. */
export function usageText(parts: { synopsis: string; description?: string; flags?: FlagTable; notes?: string }): string {
  return [
    `usage: ${parts.synopsis}`,
    ...(parts.description ? ['', parts.description] : []),
    ...(parts.flags ? ['', 'flags:', flagHelp(parts.flags)] : []),
    ...(parts.notes ? ['', parts.notes] : []),
  ].join('\n');
}
