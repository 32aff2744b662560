#!/usr/bin/env node
// alignkit's command-line entry: looks the first argument up in the command table, descends into
// subcommands, and does for every command what none should do itself: `--help`, `--version`,
// unknown flags answered with the closest valid one (exit 2), and errors that name flags.

import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { isAlignkitError, type AlignkitError } from '../errors.js';
import { COMMANDS, loadAllCommands, loadCommand } from './commands/index.js';
import { closest, explainParseError, parseFlags, usageError, wantsHelp, WORD_SUGGESTION_DISTANCE } from './options.js';
import type { Command } from './registry.js';

/** The top-level usage: every command with its summary (the one path that loads every command module). */
async function usage(): Promise<string> {
  const commands = await loadAllCommands();
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'usage: alignkit <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    'alignkit <command> --help (or alignkit help <command>) shows the flags of one command; alignkit --version prints the version.',
  ].join('\n');
}

/** The version in the package.json two levels up (the same from src/cli and from dist/cli). */
export function version(): string {
  return (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** The usage text of a group command: its own, or one generated from its subcommands. */
function groupUsage(cmd: Command, label: string): string {
  return cmd.usage || [`usage: alignkit ${label} <subcommand> [flags]`, '', ...Object.values(cmd.subcommands ?? {}).map((s) => `  ${s.name}  ${s.summary}`)].join('\n');
}

interface Resolved {
  cmd: Command;
  args: string[];
  /** `route select`: the words that led here. */
  label: string;
  /** fieldFlags of the command and its parents, the innermost winning. */
  fieldFlags: Record<string, string>;
}

/** Follows subcommand words as far as they name subcommands. */
function resolve(top: Command, argv: string[]): Resolved {
  let cmd = top;
  let args = argv;
  const words = [top.name];
  let fieldFlags = { ...top.fieldFlags };
  while (cmd.subcommands && args[0] !== undefined && Object.hasOwn(cmd.subcommands, args[0])) {
    cmd = cmd.subcommands[args[0]]!;
    words.push(args[0]);
    args = args.slice(1);
    fieldFlags = { ...fieldFlags, ...cmd.fieldFlags };
  }
  return { cmd, args, label: words.join(' '), fieldFlags };
}

/** Flags a command without a flag table documents in its usage: the candidates for "did you mean". */
function flagsInUsage(text: string): string[] {
  return [...new Set([...text.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]!))];
}

/**
 * An error message in the command line's terms: library field names a command maps to flags
 * become those flags (`maxNewTokens` -> `--max-tokens`, `run config field output` -> `--output`),
 * and a value that was never given reads as such instead of `got undefined`.
 */
export function speakInFlags(message: string, fields: Record<string, string>): string {
  let m = message.replace(/run config field ([A-Za-z]+)((?:\.[\w.]+)?)/g, (all, field: string, sub: string) =>
    fields[field] ? `--${fields[field]}${sub ? ` (${sub.slice(1)})` : ''}` : all,
  );
  for (const [field, flag] of Object.entries(fields)) if (/[A-Z]/.test(field)) m = m.replace(new RegExp(`\\b${field}\\b`, 'g'), `--${flag}`);
  return m.replace(/, got undefined\b/g, ' (not given)');
}

function report(e: AlignkitError, where: Resolved): number {
  if (e.code === 'ALIGNKIT_ERR_USAGE') {
    console.error(`alignkit ${where.label}: ${e.message}`);
    return 2;
  }
  console.error(`alignkit ${where.label}: ${speakInFlags(e.message, where.fieldFlags)} [${e.code}]`);
  return 1;
}

async function runCommand(top: Command, argv: string[]): Promise<number> {
  const where = resolve(top, argv);
  const { cmd, args, label } = where;
  try {
    if (wantsHelp(args, cmd.flags)) {
      console.log(cmd.subcommands ? groupUsage(cmd, label) : cmd.usage);
      return 0;
    }
    if (cmd.subcommands) {
      const subs = Object.keys(cmd.subcommands ?? {});
      const sub = args[0];
      if (sub === undefined) throw usageError(`needs a subcommand, one of ${subs.join(', ')} (alignkit ${label} --help)`, { parameter: 'subcommand' });
      const near = closest(sub, subs, WORD_SUGGESTION_DISTANCE);
      throw usageError(`unknown subcommand '${sub}'${near ? `; did you mean '${near}'?` : ''} (subcommands: ${subs.join(', ')})`, { parameter: 'subcommand', closest: near });
    }
    if (cmd.flags) parseFlags(label, cmd.flags, args, cmd.positionals);
    return (await cmd.run(args)) ?? 0;
  } catch (e) {
    // A command without a flag table still parses with parseArgs: its errors get the same one line.
    const err = String((e as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS_') ? explainParseError(e, label, Object.keys(cmd.flags ?? {}).concat(flagsInUsage(cmd.usage))) : e;
    if (isAlignkitError(err)) return report(err, where);
    throw err;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v') {
    console.log(version());
    return 0;
  }
  if (!name || name === '--help' || name === '-h') {
    console.log(await usage());
    return name ? 0 : 2;
  }
  if (name === 'help') {
    const cmd = await loadCommand(rest[0]);
    if (!cmd) {
      console.log(await usage());
      return rest[0] ? 2 : 0;
    }
    return runCommand(cmd, [...rest.slice(1), '--help']);
  }
  const cmd = await loadCommand(name);
  if (!cmd) {
    const near = closest(name, COMMANDS.map((c) => c.name), WORD_SUGGESTION_DISTANCE);
    console.error(`alignkit: unknown command '${name}'${near ? `; did you mean '${near}'?` : ''} (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
    return 2;
  }
  return runCommand(cmd, rest);
}

// Run when executed (directly or through the npm bin symlink), not when imported by tests.
const entry = process.argv[1] ? pathToFileURL(fs.realpathSync(process.argv[1])).href : '';
if (entry === import.meta.url) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
