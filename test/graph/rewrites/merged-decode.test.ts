// mergedDecodingGraph (issue 13, GenARM in one session): the decoding graphs of a base and an ARM of
// a different layout (layers, head size) and vocabulary side by side, on a real session, give each
// model's own new keys/values and GenARM's guided scores as genarmScores computes them from the
// separate decoding sessions.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, Session, loadModel, type Tensor } from '../../../src/graph/index.js';
import {
  armPrefix, decodingGraph, mergedDecodingGraph, GUIDE_ALPHA, GUIDE_TEMPERATURE, GUIDED_ARGMAX, GUIDED_SCORES, LAST_LOGITS, LAST_LOGSUMEXP,
  MEMBER_ARGMAX_LOGPROBS, MEMBER_LOGPROBS, NEW_KV, type DecodingGraph,
} from '../../../src/graph/rewrites/index.js';
import { genarmScores } from '../../../src/generate/index.js';

const BASE = path.resolve('data/models/alignkit-base/onnx/model.onnx'); // 4 layers, 4 heads x 32, vocab 4096
const ARM = path.resolve('data/models/tiny-gpt2/onnx/model.onnx'); // 2 layers, 4 heads x 8, vocab 500
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
const i64 = (rows: number[][]): Tensor => ({ dtype: 'int64', dims: [rows.length, rows[0]!.length], data: BigInt64Array.from(rows.flat().map(BigInt)) });
const f32 = (data: number[]): Tensor => ({ dtype: 'float32', dims: [data.length], data: Float32Array.from(data) });

/** A 3-slot past for every past input of a graph (heads and head size from its input dims), values from `seed`. */
function pastFor(model: ReturnType<typeof loadModel>, B: number, P: number, seed: number, prefix = ''): Record<string, Tensor> {
  const past: Record<string, Tensor> = {};
  for (const v of model.graph.inputs.filter((x) => x.name.startsWith('past_key_values.'))) {
    const [H, D] = [v.dims![1] as number, v.dims![3] as number];
    past[prefix + v.name] = { dtype: 'float32', dims: [B, H, P, D], data: Float32Array.from({ length: B * H * P * D }, (_, i) => Math.sin(i * 0.37 + seed) * 0.5) };
  }
  return past;
}

/**
 * A decoding graph whose next-token logits are row input_ids[b, 0] of `table` [K, V], with their log
 * sum exp and a one-value new key: logits constructed to tie.
 */
function tableDecoder(table: number[][]): DecodingGraph {
  const V = table[0]!.length;
  const b = new GraphBuilder();
  b.input('input_ids', 'int64', ['batch_size', 1]);
  b.input('attention_mask', 'int64', ['batch_size', 'length']);
  b.input('position_ids', 'int64', ['batch_size', 1]);
  b.input('past_key_values.0.key', 'float32', ['batch_size', 1, 'past', 1]);
  const rows = b.constant(Float32Array.from(table.flat()), [table.length, V]);
  const logits = b.output(b.gather(rows, b.squeeze('input_ids', [1])), LAST_LOGITS, 'float32', ['batch_size', V]); // [B, V]
  b.output(b.reduceLogSumExp(logits, [-1], false), LAST_LOGSUMEXP, 'float32', ['batch_size']); // [B]
  b.output(b.reduceSum('past_key_values.0.key', [2]), NEW_KV); // [B, 1, 1, 1]
  return { model: b.toModel(), newKv: new Map([['past_key_values.0.key', 0]]) };
}

describe('mergedDecodingGraph', () => {
  it('runs a base and an ARM of another layout and vocabulary in one session, with their own caches and the guided scores (or their argmax) of genarmScores', async () => {
    const [base, arm] = [loadModel(BASE), loadModel(ARM)];
    const [db, da] = [decodingGraph(base)!, decodingGraph(arm)!];
    const merged = mergedDecodingGraph(db, [da])!;
    expect(merged.vocab).toBe(500);
    expect(merged.members.map((m) => m.newKvOutput)).toEqual([NEW_KV, `${armPrefix(0)}${NEW_KV}`]);
    expect([...merged.members[1]!.newKv.keys()]).toEqual([...da.newKv.keys()].map((k) => armPrefix(0) + k));
    // Two rows, the second with a padded first slot, 3 past slots, then 2 new tokens per row.
    const B = 2, P = 3;
    const shared = { input_ids: i64([[7, 9], [4, 2]]), attention_mask: i64([[1, 1, 1, 1, 1], [0, 1, 1, 1, 1]]), position_ids: i64([[3, 4], [2, 3]]) };
    const [pb, pa] = [pastFor(base, B, P, 0), pastFor(arm, B, P, 1)];
    const alpha = 0.7, T = 1.5;
    const [sb, sa, sm, sg] = await Promise.all([db.model, da.model, merged.model, mergedDecodingGraph(db, [da], 'argmax')!.model].map((m) => Session.create(m)));
    const ob = await sb.run({ ...shared, ...pb });
    const oa = await sa.run({ ...shared, ...pa });
    const armPast = Object.fromEntries(Object.entries(pa).map(([k, v]) => [armPrefix(0) + k, v]));
    const merges = { ...shared, ...pb, ...armPast, [GUIDE_ALPHA]: f32([alpha]), [GUIDE_TEMPERATURE]: f32([T]) };
    const om = await sm.run(merges); // the scores form
    const og = await sg.run(merges); // the argmax form
    expect(Object.keys(om).sort()).toEqual([GUIDED_SCORES, MEMBER_LOGPROBS, NEW_KV, `${armPrefix(0)}${NEW_KV}`].sort());
    expect(Object.keys(og).sort()).toEqual([GUIDED_ARGMAX, MEMBER_ARGMAX_LOGPROBS, NEW_KV, `${armPrefix(0)}${NEW_KV}`].sort());
    // Each model's new keys and values, in its own layout.
    expect(maxAbsDiff(om[NEW_KV]!.data as Float32Array, ob[NEW_KV]!.data as Float32Array)).toBeLessThan(1e-6);
    expect(om[`${armPrefix(0)}${NEW_KV}`]!.dims).toEqual(oa[NEW_KV]!.dims);
    expect(maxAbsDiff(om[`${armPrefix(0)}${NEW_KV}`]!.data as Float32Array, oa[NEW_KV]!.data as Float32Array)).toBeLessThan(1e-6);
    expect(maxAbsDiff(og[`${armPrefix(0)}${NEW_KV}`]!.data as Float32Array, oa[NEW_KV]!.data as Float32Array)).toBeLessThan(1e-6);
    const V = 500, [Vb, Va] = [4096, 500];
    const scores = om[GUIDED_SCORES]!.data as Float32Array;
    const logprobs = om[MEMBER_LOGPROBS]!.data as Float32Array; // [B, 2, V]
    for (let b = 0; b < B; b++) {
      const baseRow = (ob[LAST_LOGITS]!.data as Float32Array).subarray(b * Vb, (b + 1) * Vb);
      const armRow = (oa[LAST_LOGITS]!.data as Float32Array).subarray(b * Va, (b + 1) * Va);
      // The base's vocabulary is cut to the ARM's: both log-softmaxes are normalised over the cut.
      const want = genarmScores(baseRow, [{ logits: armRow, alpha, logSumExp: oa[LAST_LOGSUMEXP]!.data[b] as number }], T, ob[LAST_LOGSUMEXP]!.data[b] as number);
      expect(want.length).toBe(V);
      expect(maxAbsDiff(scores.subarray(b * V, (b + 1) * V), want), `row ${b}`).toBeLessThan(1e-5);
      const argmax = Number(og[GUIDED_ARGMAX]!.data[b]);
      expect(argmax).toBe(want.indexOf(Math.max(...want)));
      // Each model's own log-probs (its whole vocabulary, T = 1), of every token and of the argmax.
      const own = [baseRow[argmax]! - (ob[LAST_LOGSUMEXP]!.data[b] as number), armRow[argmax]! - (oa[LAST_LOGSUMEXP]!.data[b] as number)];
      expect(maxAbsDiff((og[MEMBER_ARGMAX_LOGPROBS]!.data as Float32Array).subarray(b * 2, b * 2 + 2), own)).toBeLessThan(1e-5);
      expect(logprobs[(b * 2 + 0) * V + argmax]).toBeCloseTo(own[0]!, 5);
      expect(logprobs[(b * 2 + 1) * V + argmax]).toBeCloseTo(own[1]!, 5);
    }
    // alpha 0 leaves the base alone, at T: log_softmax(base over the cut) / T.
    const off = await sm.run({ ...shared, ...pb, ...armPast, [GUIDE_ALPHA]: f32([0]), [GUIDE_TEMPERATURE]: f32([T]) }, [GUIDED_SCORES]);
    const baseOnly = genarmScores((ob[LAST_LOGITS]!.data as Float32Array).subarray(0, Vb), [{ logits: new Float32Array(V), alpha: 0 }], T);
    expect(maxAbsDiff((off[GUIDED_SCORES]!.data as Float32Array).subarray(0, V), baseOnly)).toBeLessThan(1e-5);
    await Promise.all([sb, sa, sm, sg].map((x) => x.release()));
  });

  it('sums two ARMs in order, each with its own alpha', async () => {
    const db = decodingGraph(loadModel(BASE))!;
    const merged = mergedDecodingGraph(db, [db, db])!;
    expect(merged.members).toHaveLength(3);
    const s = await Session.create(merged.model);
    const B = 1, P = 2;
    const past = { ...pastFor(db.model, B, P, 0), ...pastFor(db.model, B, P, 2, armPrefix(0)), ...pastFor(db.model, B, P, 4, armPrefix(1)) };
    const shared = { input_ids: i64([[7]]), attention_mask: i64([[1, 1, 1]]), position_ids: i64([[2]]) };
    const out = await s.run({ ...shared, ...past, [GUIDE_ALPHA]: f32([0.5, 0.25]), [GUIDE_TEMPERATURE]: f32([1]) });
    const single = await Session.create(db.model);
    const rows = [];
    for (const prefix of ['', armPrefix(0), armPrefix(1)]) {
      const own = Object.fromEntries(Object.entries(past).filter(([k]) => k.startsWith(prefix) && (prefix !== '' || !k.startsWith('arm'))).map(([k, v]) => [k.slice(prefix.length), v]));
      const o = await single.run({ ...shared, ...own });
      rows.push({ logits: o[LAST_LOGITS]!.data as Float32Array, logSumExp: o[LAST_LOGSUMEXP]!.data[0] as number });
    }
    const want = genarmScores(rows[0]!.logits, [{ ...rows[1]!, alpha: 0.5 }, { ...rows[2]!, alpha: 0.25 }], 1, rows[0]!.logSumExp);
    expect(maxAbsDiff(out[GUIDED_SCORES]!.data as Float32Array, want)).toBeLessThan(1e-5);
    await Promise.all([s.release(), single.release()]);
  });

  it('argmax form: the first of tied maxima, as the scores form picks (ties constructed in the logits)', async () => {
    // Row 0: base and ARM equal at ids 1 and 3, the maximum of both: a tie in every form. Row 1: the
    // sums tie at ids 0 and 2 (2 + 0.5 x 0 = 1 + 0.5 x 2, exact in float) from different terms.
    // Row 2: one later maximum (id 4), no tie. Row 3: alpha 0 leaves the base's tie at ids 2 and 3.
    const base = tableDecoder([[0, 3, 1, 3, 2], [2, -1, 1, 0, 0.5], [0, 1, 2, 3, 4], [1, 0, 5, 5, 4]]);
    const arm = tableDecoder([[1, 2.5, 0, 2.5, 2], [0, 1, 2, -3, 1], [1, 1, 1, 1, 1.5], [9, 0, 0, 0, 0]]);
    const [scores, argmax] = await Promise.all((['scores', 'argmax'] as const).map((form) => Session.create(mergedDecodingGraph(base, [arm], form)!.model)));
    const feeds = (alpha: number, rows: number[]) => ({
      input_ids: i64(rows.map((r) => [r])), attention_mask: i64(rows.map(() => [1])), position_ids: i64(rows.map(() => [0])),
      'past_key_values.0.key': { dtype: 'float32', dims: [rows.length, 1, 1, 1], data: new Float32Array(rows.length) } as Tensor,
      [`${armPrefix(0)}past_key_values.0.key`]: { dtype: 'float32', dims: [rows.length, 1, 1, 1], data: new Float32Array(rows.length) } as Tensor,
      [GUIDE_ALPHA]: f32([alpha]), [GUIDE_TEMPERATURE]: f32([0.7]),
    });
    const firstMax = (row: Float32Array) => row.indexOf(Math.max(...row));
    const check = async (alpha: number, rows: number[], want: number[]) => {
      const s = (await scores.run(feeds(alpha, rows)))[GUIDED_SCORES]!.data as Float32Array;
      const g = Array.from((await argmax.run(feeds(alpha, rows)))[GUIDED_ARGMAX]!.data as BigInt64Array, Number);
      expect(g).toEqual(want);
      return rows.map((_, b) => s.subarray(b * 5, (b + 1) * 5));
    };
    const [tied, , later] = await check(0.5, [0, 1, 2], [1, 0, 4]);
    expect(tied![1]).toBe(tied![3]); // the scores form ties there too, and picks the first
    expect(firstMax(tied!)).toBe(1);
    expect(firstMax(later!)).toBe(4);
    const [baseTie] = await check(0, [3], [2]);
    expect(baseTie![2]).toBe(baseTie![3]);
    expect(firstMax(baseTie!)).toBe(2);
    await Promise.all([scores.release(), argmax.release()]);
  });

  it('leaves models that cannot share one graph alone (different default opsets)', () => {
    const db = decodingGraph(loadModel(BASE))!;
    const other = { ...db, model: { ...db.model, opsetImports: [{ domain: '', version: 18 }] } };
    expect(mergedDecodingGraph(db, [other])).toBeUndefined();
  });
});
