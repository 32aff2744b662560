// The shipped models measured again on the held-out pairs their cards name (rows 1901-2312 of
// hh_rlhf_harmless_base_test.jsonl, never seen in training; scripts/build-models.mjs), and the
// numbers compared with the ones the cards state: alignkit-rm's pairwise accuracy, alignkit-arm's
// reward accuracy (and alignkit-base's under the same reward), alignkit-base-dpo's implicit-reward
// accuracy and KL. A model that only gives finite outputs no longer passes.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateRewardModels, loadRewardModelSpec } from '../../../src/eval/index.js';
import { loadPreferenceData } from '../../../src/datasets/index.js';
import { createLoss } from '../../../src/losses/index.js';
import { Tokenizer } from '../../../src/models/index.js';
import { evaluatePolicy, KINDS, rowGroupsFor, sequenceSums, tokenizeItems, tokenizeSettings } from '../../../src/train/run/index.js';
import { ROOT } from './helpers.js';

const MODELS = path.join(ROOT, 'data/models');
const PAIRS = path.resolve(ROOT, '../shared/datasets/preference_pairs/hh_rlhf_harmless_base_test.jsonl');
const PAIR_LENGTHS = { maxLength: 128, maxPromptLength: 64 };
const PAD = 1;

/** The held-out rows as build-models.mjs cut them. */
function heldPairs(): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-held-')), 'held.jsonl');
  const lines = fs.readFileSync(PAIRS, 'utf8').trim().split('\n');
  fs.writeFileSync(file, `${lines.slice(1900, 2312).join('\n')}\n`);
  return file;
}

/** A number from a card table row: `| label | 59.2% |` -> 0.592, `... | -35.782 nats ...` -> -35.782. */
function cardNumber(model: string, label: string): number {
  const card = fs.readFileSync(path.join(MODELS, model, 'README.md'), 'utf8');
  const row = card.split('\n').find((l) => l.startsWith(`| ${label}`));
  if (!row) throw new Error(`${model} card has no row "${label}"`);
  const cell = row.split('|')[2]!.trim();
  const x = Number.parseFloat(cell);
  return cell.includes('%') ? x / 100 : x;
}

/** Accuracies to the card's 0.1% (412 pairs: one pair is 0.24%). */
const sameAccuracy = (measured: number, card: number) => expect(Math.abs(measured - card)).toBeLessThanOrEqual(0.0005 + 1e-9);

describe.skipIf(!fs.existsSync(PAIRS))('shipped models on their held-out pairs (numbers of the model cards)', () => {
  const held = fs.existsSync(PAIRS) ? heldPairs() : '';

  it('alignkit-rm: pairwise accuracy', async () => {
    const { report } = await evaluateRewardModels([await loadRewardModelSpec(path.join(MODELS, 'alignkit-rm'))], [held], { truncate: true });
    expect(report.overall.count).toBe(412);
    sameAccuracy(report.overall.accuracy[0]!, cardNumber('alignkit-rm', 'alignkit-rm'));
    sameAccuracy(report.overall.lengthAccuracy, cardNumber('alignkit-rm', 'length only'));
  }, 120_000);

  it('alignkit-arm: accuracy of the sum-of-log-probs reward, and alignkit-base\'s before ARM training', async () => {
    const loaded = await loadPreferenceData(held, { kind: 'paired', dropTies: true });
    const tok = await Tokenizer.load(path.join(MODELS, 'alignkit-arm'));
    const items = tokenizeItems(loaded.examples, tok, tokenizeSettings({ ...PAIR_LENGTHS, maxCompletionLength: undefined, appendEos: false }, tok, KINDS.arm)).items;
    const accuracy = async (model: string) => {
      const [chosen, rejected] = await sequenceSums(path.join(MODELS, model, 'onnx/model.onnx'), items, rowGroupsFor(createLoss('genarm'), 'causal-lm'), PAD);
      return items.reduce((a, _it, i) => a + (chosen![i]! > rejected![i]! ? 1 : chosen![i] === rejected![i] ? 0.5 : 0), 0) / items.length;
    };
    sameAccuracy(await accuracy('alignkit-arm'), cardNumber('alignkit-arm', 'alignkit-arm (sum of response log-probs)'));
    sameAccuracy(await accuracy('alignkit-base'), cardNumber('alignkit-arm', 'alignkit-base, same reward'));
  }, 120_000);

  it('alignkit-base-dpo: implicit-reward accuracy and KL against alignkit-base', async () => {
    const e = await evaluatePolicy({ model: path.join(MODELS, 'alignkit-base-dpo'), reference: path.join(MODELS, 'alignkit-base'), data: held, ...PAIR_LENGTHS });
    expect(e.pairs).toBe(412);
    sameAccuracy(e.rewardAccuracy, cardNumber('alignkit-base-dpo', 'implicit-reward accuracy'));
    expect(e.kl).toBeCloseTo(cardNumber('alignkit-base-dpo', 'KL estimate'), 2);
  }, 120_000);
});
