// SparsePO's reference-activation mask against the official code: MAPOTrainer's zn_rescale of each
// hooked activation, averaged over the hooks of a type and then over the types
// (test/fixtures/losses/sparsepo-mask.json, written by scripts/optim-fixtures.py from
// huawei-noah/HEBO SparsePO; its header names the commit and command).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, Session, type Tensor } from '../../src/graph/index.js';
import { activationTokenWeights } from '../../src/losses/index.js';

const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/losses/sparsepo-mask.json');

interface MaskFixture {
  B: number;
  T: number;
  mask: number[];
  hooks: Record<string, { H: number; data: string }[]>;
  weights: number[];
}

const f32 = (b64: string) => {
  const buf = Buffer.from(b64, 'base64');
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
};

async function weights(g: GraphBuilder, out: string, feeds: Record<string, Tensor>): Promise<Float32Array> {
  g.output(out, 'w');
  const s = await Session.create(g.toModel());
  const r = await s.run(feeds);
  await s.release();
  return r['w']!.data as Float32Array;
}

describe("SparsePO's reference-activation token weights (MAPOTrainer zn_rescale, activation_hook 'all')", () => {
  const fx = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as MaskFixture;

  it('equal the official weights: per hook z-normalised and min-max rescaled over the response, hooks then types averaged', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const feeds: Record<string, Tensor> = { mask: { dtype: 'float32', dims: [fx.B, fx.T], data: Float32Array.from(fx.mask) } };
    g.input('mask', 'float32', [fx.B, fx.T]);
    const types = Object.entries(fx.hooks).map(([type, hooks]) =>
      hooks.map((h, i) => {
        const name = `${type}_${i}`;
        feeds[name] = { dtype: 'float32', dims: [fx.B, fx.T, h.H], data: f32(h.data) };
        return g.input(name, 'float32', [fx.B, fx.T, h.H]);
      }),
    );
    const w = await weights(g, activationTokenWeights(g, types, 'mask'), feeds);
    // float32 sums in a different order than torch's: agreement to 1e-6.
    Array.from(w).forEach((x, i) => expect(Math.abs(x - fx.weights[i]!), `token ${i}`).toBeLessThan(1e-6));
  });

  it('regression: one hook is not the positive part divided by the row maximum', async () => {
    // One response, 3 tokens, 2 hidden units, the third token masked. Token means [-1, 2, 9] (no positive part):
    // mean over the two response tokens 0.5, std sqrt(4.5) = 2.1213; z = [-0.7071, 0.7071]; min-max -> [0, 1], masked 0.
    // min and max pass through float16 (-0.70703, 0.70703) as in the code, so the ends are 0 and 1 to 1e-3.
    // (Mean of the positive part over the row maximum gave [0.25, 1, 0].)
    const g = new GraphBuilder({ opset: 17 });
    g.input('act', 'float32', [1, 3, 2]);
    g.input('mask', 'float32', [1, 3]);
    const w = await weights(g, activationTokenWeights(g, 'act', 'mask'), {
      act: { dtype: 'float32', dims: [1, 3, 2], data: Float32Array.of(1, -3, 2, 2, 9, 9) },
      mask: { dtype: 'float32', dims: [1, 3], data: Float32Array.of(1, 1, 0) },
    });
    expect(w[0]).toBeCloseTo(0, 3);
    expect(w[1]).toBeCloseTo(1, 3);
    expect(w[2]).toBe(0);
  });
});
