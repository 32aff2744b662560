// Regressions of issue #12 §5: `--help` on any command or subcommand crashed with a raw
// ERR_PARSE_ARGS_UNKNOWN_OPTION stack trace, as did any mistyped flag; errors named API fields
// (`maxNewTokens`, `run config field output`) instead of flags. Every registered command and
// subcommand is walked, so commands added later are held to the same behaviour.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAllCommands } from '../../src/cli/commands/index.js';
import { closest, editDistance } from '../../src/cli/options.js';
import type { Command } from '../../src/cli/registry.js';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';

/** [words, command] for every command and subcommand. */
function walk(cmds: readonly Command[], prefix: string[] = []): [string[], Command][] {
  return cmds.flatMap((c) => {
    const words = [...prefix, c.name];
    return [[words, c] as [string[], Command], ...walk(Object.values(c.subcommands ?? {}), words)];
  });
}

const ALL = walk(await loadAllCommands());
const LEAVES = ALL.filter(([, c]) => !c.subcommands);

/** `--base` -> `--baes`: two adjacent letters swapped (an edit distance of 1). */
function typo(flag: string): string {
  const i = Math.max(1, Math.floor(flag.length / 2));
  return flag.slice(0, i - 1) + flag[i] + flag[i - 1] + flag.slice(i + 1);
}

describe('--help on every command and subcommand', () => {
  it.each(ALL.map(([words, c]) => [words.join(' '), words, c] as const))('%s --help prints its usage and exits 0', async (_, words, c) => {
    for (const h of ['--help', '-h']) {
      const r = await runCli(...words, h);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toBe('');
      expect(r.out).toMatch(/^usage: alignkit /);
      for (const flag of Object.keys(c.flags ?? {})) expect(r.out, `${words.join(' ')} --help lists --${flag}`).toContain(`--${flag}`);
    }
  });

  it('alignkit help CMD SUB is the same as CMD SUB --help', async () => {
    expect((await runCli('help', 'data', 'convert')).out).toBe((await runCli('data', 'convert', '--help')).out);
  });

  it('a flag table with defaults shows them', async () => {
    const r = await runCli('generate', '--help');
    expect(r.out).toMatch(/--max-tokens N +new tokens at most per prompt \(default 64\)/);
    expect(r.out).toMatch(/--on-long-prompt fail\|skip\|truncate\n[^-]*\(default fail\)/);
  });

  it('--help after another flag that takes a value is that flag value, not a help request', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ak-help-')), 'out.jsonl');
    const r = await runCli('generate', '--base', 'data/models/tiny-gpt2', '--prompt=-h', '--max-tokens', '1', '--greedy', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).prompt).toBe('-h');
  });
});

describe('an unknown flag is one line naming the closest valid flag, exit 2', () => {
  it.each(LEAVES.map(([words, c]) => [words.join(' '), words, c] as const))('%s', async (_, words, c) => {
    const r = await runCli(...words, '--stpes');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.split('\n')).toHaveLength(1);
    expect(r.err).toMatch(new RegExp(`^alignkit ${words.join(' ')}: unknown flag --stpes`));
    const flags = Object.keys(c.flags ?? {});
    if (flags.length === 0) return;
    // A one-letter slip of a real flag is answered with that flag.
    const real = flags.find((f) => f.length >= 4 && typo(f) !== f && !flags.includes(typo(f)) && closest(typo(f), flags) === f);
    if (!real) return;
    const slip = await runCli(...words, `--${typo(real)}`);
    expect(slip.code).toBe(2);
    expect(slip.err).toContain(`unknown flag --${typo(real)}; did you mean --${real}?`);
  });

  it('train dpo --stpes suggests --steps', async () => {
    const r = await runCli('train', 'dpo', '--stpes', '30');
    expect(r.err).toBe('alignkit train dpo: unknown flag --stpes; did you mean --steps? (alignkit train dpo --help lists the flags)');
  });

  it('a flag without its value and a stray argument are one-line usage errors too', async () => {
    const missing = await runCli('generate', '--base');
    expect(missing.code).toBe(2);
    expect(missing.err).toBe('alignkit generate: --base needs a value (to pass one starting with a dash, write --base=-VALUE) (alignkit generate --help lists the flags)');
    const stray = await runCli('data', 'inspect', 'a.jsonl', 'b.jsonl');
    expect(stray.code).toBe(2);
    expect(stray.err).toContain("unexpected argument 'b.jsonl'");
  });

  it('an unknown command or subcommand suggests a near one', async () => {
    expect((await runCli('genrate')).err).toContain("unknown command 'genrate'; did you mean 'generate'?");
    const r = await runCli('route', 'selcet');
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown subcommand 'selcet'; did you mean 'select'?");
  });

  it('edit distance counts a transposition as one edit', () => {
    expect(editDistance('stpes', 'steps')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });
});

describe('alignkit --version', () => {
  it('prints the package version', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await runCli('--version');
    expect(r).toEqual({ code: 0, out: version, err: '' });
  });
});

describe('errors speak in flags', () => {
  it('train names --output, not the run config field', async () => {
    const r = await runCli('train', 'rm', '--model', 'data/models/tiny-gpt2-rm', '--data', 'data/samples/hh_rlhf_harmless_base_test.200.jsonl');
    expect(r.code).toBe(1);
    expect(r.err).toContain('--output: must be a non-empty string (not given)');
    expect(r.err).not.toContain('run config field');
  });

  it('generate names --max-tokens, not maxNewTokens', async () => {
    const r = await runCli('generate', '--base', 'data/models/tiny-gpt2', '--prompt', 'hi', '--max-tokens', '100000', '--no-progress');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--max-tokens 100000 leaves no room for a prompt/);
    expect(r.err).not.toContain('maxNewTokens');
  });

  it('serve names --max-batch, not maxBatch', async () => {
    const r = await runCli('serve', '--model', 'data/models/tiny-gpt2-rm', '--max-batch', '0', '--port', '0');
    expect(r.code).toBe(1);
    expect(r.err).toContain('--max-batch must be a positive integer, got 0');
    expect(r.err).not.toContain('maxBatch');
  });
});

describe('flag values the library would reject with a raw RangeError', () => {
  it('pairs --n 1 and --max-prompt-tokens 0 are errors naming the flag', async () => {
    const base = ['pairs', '--base', 'data/models/tiny-gpt2', '--judge', 'data/models/tiny-gpt2-rm', '--prompts', 'data/samples/hh_rlhf_harmless_base_test.200.jsonl', '--out', '/dev/null'];
    const n = await runCli(...base, '--n', '1');
    expect(n.code).toBe(1);
    expect(n.err).toContain('--n must be an integer of at least 2');
    const m = await runCli(...base, '--max-prompt-tokens', '0');
    expect(m.err).toContain('--max-prompt-tokens must be a positive integer, got 0');
  });
});
