// The run config: defaults, file-then-flags precedence, errors naming the field, and the losses
// each kind accepts, derived from the registry's input declarations.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { flagsToConfig } from '../../../src/cli/commands/train.js';
import { LOSSES } from '../../../src/losses/index.js';
import { Tokenizer } from '../../../src/models/index.js';
import { KINDS, lossesForKind, readRunConfigFile, resolveRunConfig, RUN_DEFAULTS, tokenizeItems, tokenizeSettings, TRAIN_KINDS } from '../../../src/train/run/index.js';
import { tempDir, TINY_LM } from './helpers.js';

const BASE = { kind: 'dpo' as const, model: 'm', data: 'd.jsonl', output: 'o' };

function errorOf(f: () => unknown): Error & { code?: string; details?: Record<string, unknown> } {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('run config', () => {
  it('fills defaults, the kind default loss, and lets later layers win', () => {
    const c = resolveRunConfig(BASE);
    expect(c.loss).toBe('dpo');
    expect(c.optimizer).toBe(RUN_DEFAULTS.optimizer);
    expect(c.batchSize).toBe(RUN_DEFAULTS.batchSize);
    const d = resolveRunConfig(BASE, { lr: 1e-3, loss: 'ipo' }, { lr: 2e-3 });
    expect(d.lr).toBe(2e-3);
    expect(d.loss).toBe('ipo');
    expect(resolveRunConfig({ ...BASE, kind: 'unpaired' }).loss).toBe('kto');
    expect(resolveRunConfig({ ...BASE, kind: 'rm' }).loss).toBe('bradley_terry');
  });

  it('names the field of a bad value or an unknown field', () => {
    for (const [over, field] of [
      [{ lr: -1 }, 'lr'],
      [{ batchSize: 6, microBatchSize: 4 }, 'batchSize'],
      [{ train: 'some' }, 'train'],
      [{ lora: { rank: 0, alpha: 1, targets: 'all-linear' } }, 'lora.rank'],
      [{ optimizer: 'adamz' }, 'optimizer'],
      [{ evalFraction: 1 }, 'evalFraction'],
      [{ maxPromptLength: 200 }, 'maxPromptLength'],
      [{ epocs: 2 }, 'epocs'],
    ] as const) {
      const e = errorOf(() => resolveRunConfig(BASE, over as never));
      expect(e.code, JSON.stringify(over)).toBe('ALIGNKIT_ERR_INVALID_ARGUMENT');
      expect(e.details!.field).toBe(field);
      expect(e.message).toContain(field);
    }
  });

  it('accepts per kind exactly the registry losses whose inputs fit, and lists them when the loss is wrong', () => {
    expect(lossesForKind('sft')).toEqual(['sft']);
    expect(lossesForKind('unpaired').sort()).toEqual(['bco', 'kto']);
    expect(lossesForKind('rm').sort()).toEqual(['bradley_terry', 'multi_attribute']);
    expect(lossesForKind('arm')).toContain('genarm');
    expect(lossesForKind('arm')).not.toContain('dpo');
    const dpo = lossesForKind('dpo');
    for (const l of ['dpo', 'ipo', 'cdpo', 'robust_dpo', 'hinge', 'ln_dpo', 'rpo', 'simpo', 'orpo', 'tdpo1', 'tdpo2', 'sparsepo', 'srpo']) expect(dpo).toContain(l);
    expect(dpo).not.toContain('kto');
    // Every loss of the registry trains under some kind.
    const covered = new Set(TRAIN_KINDS.flatMap((k) => lossesForKind(k)));
    expect(Object.keys(LOSSES).filter((l) => !covered.has(l))).toEqual([]);
    const e = errorOf(() => resolveRunConfig({ ...BASE, kind: 'unpaired', loss: 'dpo' }));
    expect(e.details!.field).toBe('loss');
    expect(e.message).toContain('kto');
  });

  it('ends responses with EOS as the kind says unless appendEos / --no-eos says otherwise', async () => {
    const tok = await Tokenizer.load(TINY_LM);
    const example = { id: 'x', prompt: 'Hello', chosen: ' there', rejected: ' you' };
    const responses = (appendEos?: boolean) =>
      tokenizeItems([example], tok, tokenizeSettings({ maxLength: 32, maxPromptLength: 16, appendEos }, tok, KINDS.arm)).items[0]!.responses;
    const plain = tok.encode(' there', { addSpecialTokens: false });
    expect(responses()[0]).toEqual([...plain, tok.eosTokenId]);
    expect(responses(false)[0]).toEqual(plain);
    expect(flagsToConfig('arm', ['--no-eos'], {}).appendEos).toBe(false);
    expect(flagsToConfig('arm', [], {}).appendEos).toBeUndefined();
    expect(errorOf(() => resolveRunConfig(BASE, { appendEos: 'no' as unknown as boolean })).message).toMatch(/appendEos/);
  });

  it('reads a JSON file and lets flags override it', () => {
    const dir = tempDir('config');
    const file = path.join(dir, 'run.json');
    fs.writeFileSync(file, JSON.stringify({ ...BASE, lr: 0.01, steps: 7, lora: { rank: 4, alpha: 8, targets: ['c_attn'] } }));
    const fileConfig = readRunConfigFile(file);
    const flags = flagsToConfig('dpo', ['--config', file, '--lr', '0.02', '--loss-hp', '{"beta":0.3}', '--lora-rank', '2', '--skip-bad-rows', '--train', 'lora'], fileConfig);
    const c = resolveRunConfig(fileConfig, flags);
    expect(c.lr).toBe(0.02);
    expect(c.steps).toBe(7);
    expect(c.lossHp).toEqual({ beta: 0.3 });
    expect(c.lora).toEqual({ rank: 2, alpha: 8, targets: ['c_attn'] });
    expect(c.onBadRow).toBe('skip');
    expect(c.train).toBe('lora');
    expect(errorOf(() => flagsToConfig('dpo', ['--lr', 'fast'], {})).message).toContain('--lr');
  });
});
