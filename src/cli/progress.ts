// A count progress bar for the commands' long loops (prompts decoded, rows scored). Drawn by
// cli-progress on a terminal only: off a TTY (CI logs, redirected stderr) a redrawn bar would
// just fill the log, and each command prints its own summary line at the end.

import cliProgress from 'cli-progress';

export interface CountBar {
  update(done: number): void;
  stop(): void;
}

export function countBar(total: number, unit: string, stream: NodeJS.WriteStream = process.stderr): CountBar {
  if (!stream.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar({ format: `{value}/{total} ${unit} |{bar}| ETA {eta_formatted}`, stream, hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return { update: (done) => bar.update(done), stop: () => bar.stop() };
}
