// The command table: each command's name and the module that defines it, imported only when that
// command runs (or when `alignkit --help` lists every summary). A command module pulls in what its
// work needs (serve: Fastify; jobs: BullMQ and ioredis; annotate: SQLite/PostgreSQL drivers), so
// importing them all up front cost `alignkit train` over a second of start-up for modules it never
// used; test/cli/lazy-imports.test.ts holds the CLI to loading one command.
import type { Command } from '../registry.js';

export interface CommandEntry {
  name: string;
  load(): Promise<Command>;
}

/** Every CLI command, by name. */
export const COMMANDS: CommandEntry[] = [
  { name: 'annotate', load: async () => (await import('./annotate.js')).annotateCommand },
  { name: 'data', load: async () => (await import('./data.js')).dataCommand },
  { name: 'eval', load: async () => (await import('./eval.js')).evalCommand },
  { name: 'generate', load: async () => (await import('./generate.js')).generateCommand },
  { name: 'jobs', load: async () => (await import('./jobs.js')).jobsCommand },
  { name: 'loss', load: async () => (await import('./loss.js')).lossCommand },
  { name: 'pairs', load: async () => (await import('./pairs.js')).pairsCommand },
  { name: 'route', load: async () => (await import('./route.js')).routeCommand },
  { name: 'score', load: async () => (await import('./score.js')).scoreCommand },
  { name: 'serve', load: async () => (await import('./serve.js')).serveCommand },
  { name: 'tokenizer', load: async () => (await import('./tokenizer.js')).tokenizerCommand },
  { name: 'train', load: async () => (await import('./train.js')).trainCommand },
];

/** The command named `name`, loaded; undefined for an unknown name. */
export async function loadCommand(name: string | undefined): Promise<Command | undefined> {
  return COMMANDS.find((c) => c.name === name)?.load();
}

/** Every command, loaded (what `alignkit --help` and the tests that walk all commands need). */
export const loadAllCommands = (): Promise<Command[]> => Promise.all(COMMANDS.map((c) => c.load()));
