#!/usr/bin/env node
// alignkit's command-line entry: looks the first argument up in the command table.

import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { isAlignkitError } from '../errors.js';
import { COMMANDS } from './commands/index.js';

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length), 4);
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return ['usage: alignkit <command> [options]', '', 'commands:', ...lines, '', 'alignkit help <command> shows the options of one command.'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 1;
  }
  if (name === 'help') {
    const cmd = COMMANDS.find((c) => c.name === rest[0]);
    console.log(cmd ? cmd.usage : usage());
    return cmd || !rest[0] ? 0 : 1;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    console.error(`alignkit: unknown command '${name}'. Commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
    return 2;
  }
  try {
    return (await cmd.run(rest)) ?? 0;
  } catch (e) {
    if (isAlignkitError(e)) {
      console.error(`alignkit ${name}: ${e.message} [${e.code}]`);
      return 1;
    }
    throw e;
  }
}

// Run when executed (directly or through the npm bin symlink), not when imported by tests.
const entry = process.argv[1] ? pathToFileURL(fs.realpathSync(process.argv[1])).href : '';
if (entry === import.meta.url) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
