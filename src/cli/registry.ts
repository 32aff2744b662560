// The CLI's command table: each command is a module in ./commands exporting a `Command`, so adding
// a command is adding a file and one line in commands/index.ts, never a branch in main.ts.

export interface Command {
  /** `train dpo` style names use a space; the first word is looked up, the rest passed as args. */
  name: string;
  summary: string;
  /** Full usage text printed by `alignkit help <name>` and on a usage error. */
  usage: string;
  run(argv: string[]): Promise<number | void>;
}
