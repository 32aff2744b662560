import { it } from 'vitest';
import fs from 'node:fs';
import ort from 'onnxruntime-node';
import { encodeModel, toOrt } from '../../../src/graph/index.js';
import { buildTrainingGraph } from '../../../src/graph/autodiff/index.js';
import { tinyGpt2 } from './models.js';
it('perf probe', async () => {
  const dims = { vocab: 4096, d: 256, heads: 4, layers: 4, batch: 8, seq: 128 };
  const c = tinyGpt2('float32', dims);
  const tg = buildTrainingGraph({ model: c.model, loss: 'loss', trainable: c.wrt });
  const feeds = Object.fromEntries(Object.entries({ ...c.feeds, ...Object.fromEntries(c.wrt.map((p) => [p, c.model.graph.initializers.get(p)!])) }).map(([k, v]) => [k, toOrt(v)]));
  const opts = { intraOpNumThreads: 2, enableProfiling: true, profileFilePrefix: '/tmp/akprof', extra: { session: { intra_op: { allow_spinning: '0' } } } } as any;
  const s = await ort.InferenceSession.create(encodeModel(tg.model), opts);
  const f = await ort.InferenceSession.create(encodeModel(c.model), { ...opts, enableProfiling: false });
  const ff = Object.fromEntries(Object.entries(feeds).filter(([k]) => f.inputNames.includes(k)));
  const tt: number[] = [], tf: number[] = [];
  for (let i = 0; i < 3; i++) {
    let a = performance.now(); await s.run(feeds); tt.push(performance.now() - a);
    a = performance.now(); await f.run(ff); tf.push(performance.now() - a);
  }
  const file = s.endProfiling();
  const ev = JSON.parse(fs.readFileSync(file, 'utf8')) as any[];
  const agg = new Map<string, number>();
  for (const e of ev) if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) agg.set(e.args.op_name, (agg.get(e.args.op_name) ?? 0) + e.dur);
  console.log('train', tt.map((t) => t.toFixed(0)).join(' '), 'fwd', tf.map((t) => t.toFixed(0)).join(' '));
  console.log([...agg].sort((a, b) => b[1] - a[1]).slice(0, 14).map(([k, v]) => `${k}:${(v / 1000 / 3).toFixed(0)}ms`).join(' '));
  const big = ev.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time')).sort((a, b) => b.dur - a.dur).slice(0, 12);
  for (const e of big) console.log(e.args.op_name, e.name, (e.dur / 1000).toFixed(1), JSON.stringify(e.args.output_type_shape ?? '').slice(0, 80));
  fs.unlinkSync(file);
}, 300000);
