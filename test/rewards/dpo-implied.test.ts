import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel, saveModel } from '../../src/graph/index.js';
import { CausalLM } from '../../src/models/index.js';
import { DpoImpliedReward, dpoImpliedConfig } from '../../src/rewards/dpo-implied.js';
import { DATA } from '../helpers/paths.js';

const REF_DIR = path.join(DATA, 'models', 'tiny-gpt2');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-dpo-implied-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ITEMS = [
  { prompt: 'Once upon a time', response: ' there was a cat.' },
  { prompt: [{ role: 'user', content: 'Say hi.' }], response: 'Hi there!' },
];

/** A copy of the fixture LM with every value of its largest initializer (the embedding) scaled by 1.5. */
function perturbedCopy(): string {
  const dir = path.join(tmp, 'policy');
  fs.cpSync(REF_DIR, dir, { recursive: true });
  const file = path.join(dir, 'onnx', 'model.onnx');
  const model = loadModel(file);
  const biggest = [...model.graph.initializers.values()].filter((t) => t.dtype === 'float32').sort((a, b) => b.data.length - a.data.length)[0]!;
  const data = biggest.data as Float32Array;
  for (let i = 0; i < data.length; i++) data[i] = data[i]! * 1.5;
  saveModel(model, file);
  return dir;
}

/** log_softmax(logits[t-1])[id_t] for the response tokens, computed here in float64 from raw logits. */
async function handLogProbs(lm: CausalLM, prompt: number[], response: number[]): Promise<number[]> {
  const ids = [...prompt, ...response];
  const logits = await lm.logits([ids]);
  const [, T, V] = logits.dims as number[];
  const data = logits.data as Float32Array;
  return response.map((id, k) => {
    const row = (prompt.length + k - 1) * V!;
    let max = -Infinity;
    for (let v = 0; v < V!; v++) max = Math.max(max, data[row + v]!);
    let z = 0;
    for (let v = 0; v < V!; v++) z += Math.exp(data[row + v]! - max);
    expect(T).toBe(ids.length);
    return data[row + id]! - max - Math.log(z);
  });
}

describe('DPO-implied reward', () => {
  it('is exactly 0 for a policy identical to its reference', async () => {
    const rm = await DpoImpliedReward.load(REF_DIR, REF_DIR, { beta: 0.5 });
    expect(rm.heads).toEqual(['dpo_implied']);
    const scores = await rm.score(ITEMS);
    expect(scores.map((s) => s[0])).toEqual([0, 0]);
    const { rewards } = await rm.tokenRewards(ITEMS);
    for (const r of rewards) expect([...r].every((x) => x === 0)).toBe(true);
  });

  it('matches beta * (log pi - log pi_ref) computed by hand from both models logits, per token and summed', async () => {
    const beta = 0.25;
    const rm = await DpoImpliedReward.load(perturbedCopy(), REF_DIR, { beta });
    const tok = rm.reference.tokenizer;
    // Item 0 by hand: the prompt encoded with special tokens, the response without, EOS appended (TRL's DPO rule).
    const prompt = tok.encode('Once upon a time');
    const response = [...tok.encode(' there was a cat.', { addSpecialTokens: false }), tok.eosTokenId!];
    const pol = await handLogProbs(rm.policy, prompt, response);
    const ref = await handLogProbs(rm.reference, prompt, response);
    const expectedTokens = pol.map((p, t) => beta * (p - ref[t]!));
    const expectedSeq = expectedTokens.reduce((s, x) => s + x, 0);

    const { tokens, rewards } = await rm.tokenRewards(ITEMS);
    expect(tokens[0]).toEqual(response);
    rewards[0]!.forEach((r, t) => expect(r).toBeCloseTo(expectedTokens[t]!, 4));
    const scores = await rm.score(ITEMS);
    expect(Math.abs(expectedSeq)).toBeGreaterThan(1e-3);
    expect(scores[0]![0]).toBeCloseTo(expectedSeq, 4);
    // The sequence reward is the sum of the token rewards (RTO's dense reward sums to DPO's).
    for (const [i, r] of rewards.entries()) expect(scores[i]![0]).toBeCloseTo(r.reduce((s, x) => s + x, 0), 4);
  });

  it('validates beta', () => {
    expect(() => dpoImpliedConfig({ beta: 0 })).toThrow(/beta must be a positive number, got 0/);
  });
});
