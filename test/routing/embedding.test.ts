import { describe, expect, it } from 'vitest';
import { GraphBuilder, Session } from '../../src/graph/index.js';
import { bertScoreF1, createOnnxEmbedder, createOnnxTokenEmbedder } from '../../src/routing/features/embedding.js';
import { computeLexicalScores } from '../../src/routing/features/lexical.js';

// A real ONNX "embedding model": token id -> row of a 4 x 2 table (Gather), per token [B, T, 2].
const TABLE = Float32Array.from([1, 0, 0, 1, 1, 1, -1, 0]); // ids 0..3
const VOCAB: Record<string, number> = { red: 0, blue: 1, green: 2, black: 3 };

async function embedder() {
  const g = new GraphBuilder();
  const ids = g.input('input_ids', 'int64', ['B', 'T']);
  const table = g.initializer('table', TABLE, [4, 2]);
  g.output(g.op1('Gather', [table, ids], { axis: 0 }), 'last_hidden_state', 'float32', ['B', 'T', 2]);
  const session = await Session.create(g.toModel());
  return createOnnxEmbedder({ model: session, tokenize: (t) => t.split(' ').map((w) => VOCAB[w]), attentionMask: null, batchSize: 2 });
}

describe('ONNX embedding hook for cosine_sim', () => {
  it('mean-pools per-token outputs over the real tokens of each text', async () => {
    const embed = await embedder();
    // "red blue" -> mean([1,0],[0,1]) = [0.5,0.5]; "black" -> [-1,0]; "green red blue" (batch 2) -> [2/3, 2/3]
    const [a, b, c] = await embed(['red blue', 'black', 'green red blue']);
    expect(Array.from(a)).toEqual([0.5, 0.5]);
    expect(Array.from(b)).toEqual([-1, 0]);
    expect(Array.from(c).map((v) => +v.toFixed(6))).toEqual([0.666667, 0.666667]);
  });

  it('replaces the bag-of-words cosine when given', async () => {
    const embed = await embedder();
    const pairs = [{ id: 'x', prompt: 'p', responseA: 'red', responseB: 'blue green' }];
    const local = await computeLexicalScores(pairs);
    const withModel = await computeLexicalScores(pairs, { rouge: 'rouge1', embed });
    expect(local.cosine_sim[0]).toBe(0); // no shared words
    // [1,0] vs mean([0,1],[1,1]) = [0.5,1]: cos = 0.5 / sqrt(1.25)
    expect(withModel.cosine_sim[0]).toBeCloseTo(0.5 / Math.sqrt(1.25), 6);
  });
});

describe('ONNX token-embedding hook for bertscore', () => {
  async function tokenEmbedder() {
    const g = new GraphBuilder();
    const ids = g.input('input_ids', 'int64', ['B', 'T']);
    const table = g.initializer('table', TABLE, [4, 2]);
    g.output(g.op1('Gather', [table, ids], { axis: 0 }), 'last_hidden_state', 'float32', ['B', 'T', 2]);
    return createOnnxTokenEmbedder({ model: await Session.create(g.toModel()), tokenize: (t) => t.split(' ').map((w) => VOCAB[w]), attentionMask: null, batchSize: 2 });
  }

  it('computes BERTScore F1 by greedy cosine matching of token vectors', () => {
    // candidate [1,0],[0,1]; reference [1,1]: cos = 1/sqrt2 each. P = mean(max over ref) = 1/sqrt2;
    // R = mean over ref of max over cand = 1/sqrt2; F1 = 1/sqrt2.
    const f = bertScoreF1([Float32Array.of(1, 0), Float32Array.of(0, 1)], [Float32Array.of(1, 1)]);
    expect(f).toBeCloseTo(Math.SQRT1_2, 6);
    expect(bertScoreF1([Float32Array.of(1, 0)], [Float32Array.of(2, 0)])).toBeCloseTo(1, 6);
    expect(bertScoreF1([], [Float32Array.of(1, 0)])).toBe(0);
  });

  it('replaces token-match F1 in bertscore and bertscore_length, keeping the length penalty', async () => {
    const tokenEmbed = await tokenEmbedder();
    const pairs = [{ id: 'x', prompt: 'p', responseA: 'red blue', responseB: 'green' }];
    const local = await computeLexicalScores(pairs);
    const withModel = await computeLexicalScores(pairs, { rouge: 'rouge1', tokenEmbed });
    expect(local.bertscore[0]).toBe(0); // no shared words
    // red [1,0], blue [0,1] vs green [1,1]: F1 = 1/sqrt2 (as above)
    expect(withModel.bertscore[0]).toBeCloseTo(Math.SQRT1_2, 6);
    // length penalty exp(1 - |longer| / |shorter|) = exp(1 - 2) with the shorter response 'green'
    expect(withModel.bertscore_length[0]).toBeCloseTo(Math.SQRT1_2 * Math.exp(-1), 6);
  });
});
