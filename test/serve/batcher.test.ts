import { describe, expect, it } from 'vitest';
import { MicroBatcher } from '../../src/serve/index.js';
import { LinearRewardModel } from '../rewards/support/linear-reward-model.js';

// reward = 2 * response chars + prompt chars - 1 (hand-checkable)
const linear = () => LinearRewardModel.create('lin', ['score'], [[1], [2], [-1]], 50);
const item = (p: string, r: string) => ({ prompt: p, response: r });

describe('MicroBatcher', () => {
  it('serves N concurrent requests with fewer session runs, identical to one-by-one scoring', async () => {
    const model = await linear();
    const requests = Array.from({ length: 12 }, (_, i) => [item('p'.repeat(i), 'r'.repeat(i + 1)), item('', 'x'.repeat(i + 2))]);
    const alone = [];
    for (const r of requests) alone.push(await model.score(r));
    const runsAlone = model.runs;
    const batcher = new MicroBatcher(model, { windowMs: 20, maxBatch: 64 });
    const batched = await Promise.all(requests.map((r) => batcher.score(r)));
    expect(model.runs - runsAlone).toBeLessThan(requests.length);
    expect(model.runs - runsAlone).toBe(1); // all 24 items arrived within one window
    expect(batched.map((r) => r.map((s) => s[0]))).toEqual(alone.map((r) => r.map((s) => s[0])));
    expect(batched[3][0][0]).toBe(3 + 2 * 4 - 1);
  });

  it('never runs more than maxBatch items and splits large requests', async () => {
    const model = await linear();
    const batcher = new MicroBatcher(model, { windowMs: 5, maxBatch: 8 });
    const big = Array.from({ length: 19 }, (_, i) => item('', 'y'.repeat(i + 1)));
    const [out, small] = await Promise.all([batcher.score(big), batcher.score([item('ab', 'c')])]);
    expect(Math.max(...model.batchSizes)).toBeLessThanOrEqual(8);
    expect(model.batchSizes.reduce((a, b) => a + b, 0)).toBe(20);
    expect(out.map((s) => s[0])).toEqual(big.map((_, i) => 2 * (i + 1) - 1));
    expect(small[0][0]).toBe(2 + 2 - 1);
  });

  it('delivers a failing item\'s error to its own request only', async () => {
    const model = await linear();
    const batcher = new MicroBatcher(model, { windowMs: 20, maxBatch: 64 });
    const results = await Promise.allSettled([
      batcher.score([item('a', 'b')]),
      batcher.score([item('', 'z'.repeat(80))]), // longer than the model's 50
      batcher.score([item('', 'cc'), item('d', 'e')]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toMatch(/longer than 50/);
    expect((results[0] as PromiseFulfilledResult<Float32Array[]>).value[0][0]).toBe(1 + 2 - 1);
    expect((results[2] as PromiseFulfilledResult<Float32Array[]>).value.map((s) => s[0])).toEqual([3, 2]);
  });

  it('does not mix requests with different truncate options in one run', async () => {
    const model = await linear();
    const batcher = new MicroBatcher(model, { windowMs: 10, maxBatch: 64 });
    await Promise.all([batcher.score([item('', 'a')], { truncate: true }), batcher.score([item('', 'b')]), batcher.score([item('', 'c')], { truncate: true })]);
    expect(model.runs).toBe(2);
  });
});
