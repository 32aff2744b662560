import { it } from 'vitest';
import { Session } from '../../../src/graph/index.js';
import { buildTrainingGraph } from '../../../src/graph/autodiff/index.js';
import { tinyGpt2 } from './models.js';
it('perf', async () => {
  const dims = { vocab: 4096, d: 256, heads: 4, layers: 4, batch: 8, seq: 128 };
  const c = tinyGpt2('float32', dims);
  const t0 = performance.now();
  const tg = buildTrainingGraph({ model: c.model, loss: 'loss', trainable: c.wrt });
  const buildMs = performance.now() - t0;
  const feeds = { ...c.feeds, ...Object.fromEntries(c.wrt.map((p) => [p, c.model.graph.initializers.get(p)!])) };
  const train = await Session.create(tg.model, { intraOpThreads: 2 });
  const fwd = await Session.create(c.model, { intraOpThreads: 2 });
  const tt: number[] = [], tf: number[] = [];
  for (let i = 0; i < 7; i++) {
    let a = performance.now(); await train.run(feeds); tt.push(performance.now() - a);
    a = performance.now(); await fwd.run(c.feeds); tf.push(performance.now() - a);
  }
  const med = (x: number[]) => [...x].sort((p, q) => p - q)[3]!;
  console.log(`PERF build ${buildMs.toFixed(0)} ms, nodes ${tg.model.graph.nodes.length}; train step median ${med(tt).toFixed(0)} ms (${(1024 / med(tt) * 1000).toFixed(0)} tok/s), forward median ${med(tf).toFixed(0)} ms, ratio ${(med(tt) / med(tf)).toFixed(2)}; all train ${tt.map((x) => x.toFixed(0)).join(' ')}`);
}, 120000);
