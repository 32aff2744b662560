// GenARM in one merged session (issue 13): generate() with ARMs runs the base and its ARMs as one
// graph per token (GuidedDecoder over GuidedDecodingSession). On the shipped alignkit-base and
// alignkit-arm it must give what one decoder per model with guidance.ts's combination gives: the same
// tokens, finish reasons and per-model log-probs, and the same guided scores, for greedy and seeded
// sampling, one and two ARMs, left-padded prompts of different lengths and end-of-sequence rows.

import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GuidedDecoder, KvDecoder, generate, genarmScores, SAMPLERS, type AsyncLogitsProcessor, type DecoderModel, type DecodingTokenizer, type GenerationConfig, type GenerationResult } from '../../src/generate/index.js';
import { SLOT_CHUNK } from '../../src/generate/kv-decoder.js';
import { CausalLM, type Tokenizer } from '../../src/models/index.js';

/** Largest difference; equal values (top-k's -Infinity included) differ by 0. */
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, x === b[i] ? 0 : Math.abs(x - b[i]!)), 0);

/** The same loaded model without a merged session: generate() then runs one decoder per model and combines them in JavaScript. */
const separate = (m: CausalLM): DecoderModel => ({ step: (x) => m.step(x), vocabSize: m.vocabSize, maxLength: m.maxLength, decodingSession: () => m.decodingSession() });

/** An async processor that keeps a copy of every row's scores as the sampler sees them, editing nothing. */
function recorder(): { seen: Float32Array[]; processor: AsyncLogitsProcessor } {
  const seen: Float32Array[] = [];
  return { seen, processor: async (_r, _ids, _gen, scores) => void seen.push(Float32Array.from(scores)) };
}

function expectSameResults(a: GenerationResult[], b: GenerationResult[]): void {
  expect(a.map((r) => r.tokens)).toEqual(b.map((r) => r.tokens));
  expect(a.map((r) => r.finishReason)).toEqual(b.map((r) => r.finishReason));
  a.forEach((row, i) => {
    expect(maxAbsDiff(row.baseLogprobs, b[i]!.baseLogprobs), `row ${i} base log-probs`).toBeLessThan(1e-5);
    row.armLogprobs.forEach((lp, k) => expect(maxAbsDiff(lp, b[i]!.armLogprobs[k]!), `row ${i} ARM ${k} log-probs`).toBeLessThan(1e-5));
  });
}

describe('GenARM-guided decoding in one merged session', () => {
  let base: CausalLM;
  let arm: CausalLM;
  let tok: Tokenizer;
  let prompts: number[][];
  beforeAll(async () => {
    base = await CausalLM.load(path.resolve('data/models/alignkit-base'));
    arm = await CausalLM.load(path.resolve('data/models/alignkit-arm'));
    tok = base.tokenizer;
    // 1, 8 and 4 tokens: the shorter rows are left-padded.
    prompts = ['Hi', 'The little dog ran to the park and', 'Once upon a time'].map((p) => tok.encode(p));
    expect(new Set(prompts.map((p) => p.length)).size).toBe(3);
  });

  it('is the path generate() takes for CausalLMs, and not for models without a merged session', async () => {
    expect(await GuidedDecoder.open(base, [{ model: arm, alpha: 1 }], 1, 4, true)).toBeDefined();
    expect(await GuidedDecoder.open(separate(base), [{ model: separate(arm), alpha: 1 }], 1, 4, true)).toBeUndefined();
  });

  const cases: { name: string; cfg: Partial<GenerationConfig>; alphas: number[] }[] = [
    { name: 'greedy, 1 ARM', cfg: { sampler: 'greedy', maxNewTokens: 2 * SLOT_CHUNK + 3 }, alphas: [1] },
    { name: 'greedy, 2 ARMs at T 1.5', cfg: { sampler: 'greedy', maxNewTokens: 20, temperature: 1.5 }, alphas: [0.5, 0.3] },
    { name: 'sampling (seed 3, T 0.7), 1 ARM', cfg: { sampler: 'sample', maxNewTokens: 20, seed: 3, temperature: 0.7 }, alphas: [0.5] },
    { name: 'sampling (seed 5) with top-k and a repetition penalty, 2 ARMs', cfg: { sampler: 'sample', maxNewTokens: 20, seed: 5, topK: 20, repetitionPenalty: 1.2 }, alphas: [1, 0.25] },
  ];
  for (const { name, cfg, alphas } of cases)
    it(`gives the tokens, log-probs and scores of one decoder per model: ${name}`, async () => {
      // The second ARM is the base itself (any causal LM with the same tokenizer guides).
      const arms = [arm, base].slice(0, alphas.length);
      const merged = await generate(base, tok, prompts, cfg, arms.map((model, i) => ({ model, alpha: alphas[i]! })));
      const reference = await generate(separate(base), tok, prompts, cfg, arms.map((model, i) => ({ model: separate(model), alpha: alphas[i]! })));
      expectSameResults(merged, reference);
      expect(merged[0]!.tokens.length).toBeGreaterThan(0);
      // The scores the sampler sees (fetched from the graph, or combined in JavaScript), step by step.
      const [a, b] = [recorder(), recorder()];
      const mergedSeen = await generate(base, tok, prompts, cfg, arms.map((model, i) => ({ model, alpha: alphas[i]! })), undefined, [a.processor]);
      await generate(separate(base), tok, prompts, cfg, arms.map((model, i) => ({ model: separate(model), alpha: alphas[i]! })), undefined, [b.processor]);
      expect(a.seen.length).toBe(b.seen.length);
      expect(Math.max(...a.seen.map((s, i) => maxAbsDiff(s, b.seen[i]!)))).toBeLessThan(1e-5);
      // A recorder changes nothing: with it the greedy tokens are those of the argmax fetched from the graph.
      expect(mergedSeen.map((r) => r.tokens)).toEqual(merged.map((r) => r.tokens));
    });

  it('stops a row at end-of-sequence and keeps decoding the others as the separate decoders do', async () => {
    const cfg: Partial<GenerationConfig> = { sampler: 'greedy', maxNewTokens: 12 };
    const guides = [{ model: arm, alpha: 1 }];
    const free = await generate(base, tok, prompts, cfg, guides);
    // End-of-sequence is a token greedy decoding gives row 1 first at its 3rd step or later and the
    // other rows never (the shipped models' guided responses run to the limit).
    const others = new Set([free[0]!, free[2]!].flatMap((r) => r.tokens));
    const k = free[1]!.tokens.findIndex((t, i) => i >= 2 && free[1]!.tokens.indexOf(t) === i && !others.has(t));
    expect(k).toBeGreaterThanOrEqual(2);
    const eos = free[1]!.tokens[k]!;
    const withEos: DecodingTokenizer = { decode: (ids, o) => tok.decode(ids, o), padTokenId: tok.padTokenId, eosTokenId: eos };
    const merged = await generate(base, withEos, prompts, cfg, guides);
    const reference = await generate(separate(base), withEos, prompts, cfg, [{ model: separate(arm), alpha: 1 }]);
    expectSameResults(merged, reference);
    expect(merged[1]!.finishReason).toBe('eos');
    expect(merged[1]!.tokens).toEqual(free[1]!.tokens.slice(0, k + 1));
    expect([merged[0]!.finishReason, merged[2]!.finishReason]).toEqual(['length', 'length']);
  });

  it('hands the cache memory of a finished decode to the next decode on its session, zeroed (the same tokens as fresh sessions)', async () => {
    const guides = [{ model: arm, alpha: 1 }];
    const session = (await base.guidedDecodingSession([arm], 'argmax'))!;
    session.spareCaches.length = 0;
    await generate(base, tok, prompts, { sampler: 'greedy', maxNewTokens: 40 }, guides);
    expect(session.spareCaches).toHaveLength(1);
    const spare = session.spareCaches[0]!;
    // Poisoned: a slot not zeroed would reach attention (NaN x 0 is NaN) and change the tokens.
    spare.fill(Number.NaN);
    const short = prompts.map((p) => p.slice(0, 2));
    const reused = await generate(base, tok, short, { sampler: 'greedy', maxNewTokens: 12 }, guides);
    expect(session.spareCaches).toEqual([spare]);
    const [freshBase, freshArm] = await Promise.all(['alignkit-base', 'alignkit-arm'].map((d) => CausalLM.load(path.resolve('data/models', d))));
    const fresh = await generate(freshBase!, tok, short, { sampler: 'greedy', maxNewTokens: 12 }, [{ model: freshArm!, alpha: 1 }]);
    expectSameResults(reused, fresh);
  });

  it('carries two caches of different layouts (tiny-gpt2 guided by alignkit-base) across cache widenings', async () => {
    const tiny = await CausalLM.load(path.resolve('data/models/tiny-gpt2'));
    const rows = [[11, 12, 13, 14, 15], [21, 22]];
    const steps = SLOT_CHUNK + 4;
    const merged = (await GuidedDecoder.open(tiny, [{ model: base, alpha: 0.6 }], 1.2, steps, false))!;
    const decoders = [new KvDecoder(tiny, true, steps), new KvDecoder(base, true, steps)];
    await merged.prefill(rows, 0);
    let logits = await Promise.all(decoders.map((d) => d.prefill(rows, 0)));
    for (let step = 0; step < steps; step++) {
      const next = rows.map((_, r) => {
        const want = genarmScores(logits[0]![r]!, [{ logits: logits[1]![r]!, alpha: 0.6, logSumExp: decoders[1]!.logSumExpOf(r) }], 1.2, decoders[0]!.logSumExpOf(r));
        expect(maxAbsDiff(merged.scores(r), want), `step ${step} row ${r}`).toBeLessThan(1e-5);
        const token = SAMPLERS.greedy(want);
        expect(maxAbsDiff(merged.logProbs(r, token), decoders.map((d) => d.logProbOf(r, token)))).toBeLessThan(1e-5);
        return token;
      });
      await merged.step(next);
      logits = await Promise.all(decoders.map((d) => d.step(next, 0)));
    }
  });
});
