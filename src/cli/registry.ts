// The CLI's command table: each command is a module in ./commands exporting a `Command`, so adding
// a command is adding a file and one line in commands/index.ts, never a branch in main.ts.
//
// A command that declares its `flags` (and its `subcommands`) gets, from main.ts and without code
// of its own: `--help`/`-h` printing its usage, an unknown or mistyped flag answered with one line
// naming the closest valid flag (exit 2), and errors that name flags instead of API fields.

import { fail } from '../errors.js';

/** One flag: node:util parseArgs' option shape plus what `--help` shows. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** Applied when the flag is absent (as parseArgs does) and shown in `--help`. */
  default?: string | boolean | string[] | boolean[];
  /** Shown in `--help` only: a default the library applies when the flag is absent. */
  shownDefault?: string | number | boolean;
  /** Placeholder of the value in `--help` (N, FILE, DIR:ALPHA); defaults to the flag name upper-cased. */
  value?: string;
  help?: string;
}

export type FlagTable = Record<string, FlagSpec>;

export interface Command {
  /** The word typed after `alignkit` (or after the parent command, for a subcommand). */
  name: string;
  summary: string;
  /** Full usage text printed by `--help`, `alignkit help <name>` and on a usage error. */
  usage: string;
  /**
   * The flags `run` reads. When given, main.ts checks argv against them before `run`: an unknown
   * flag, a missing value or a stray positional is a one-line usage error (exit 2).
   */
  flags?: FlagTable;
  /** Names of the positional arguments `run` takes (e.g. ['IN', 'OUT']); none when absent. */
  positionals?: string[];
  /** `route select`, `train dpo`: main.ts resolves the next word here and runs that command. */
  subcommands?: Record<string, Command>;
  /**
   * Library field names that errors may mention (RunConfig, ServeConfig, GenerationConfig fields)
   * mapped to the flag that sets them, so messages speak in flags (`maxNewTokens` -> `--max-tokens`).
   */
  fieldFlags?: Record<string, string>;
  run(argv: string[]): Promise<number | void>;
}

/**
 * The `run` of a group command: runs the subcommand its first word names. main.ts resolves
 * subcommands itself (with --help and flag checks); this serves callers that invoke `run` directly.
 */
export function runSubcommand(group: string, subcommands: Record<string, Command>): Command['run'] {
  return async (argv) => {
    const [word, ...rest] = argv;
    const sub = word === undefined || !Object.hasOwn(subcommands, word) ? undefined : subcommands[word];
    if (!sub) throw fail('ALIGNKIT_ERR_USAGE', `alignkit ${group} needs a subcommand, one of ${Object.keys(subcommands).join(', ')}; got '${word ?? ''}'`, { parameter: 'subcommand' });
    return sub.run(rest);
  };
}
