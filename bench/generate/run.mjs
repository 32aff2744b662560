// bench/generate: tokens/s of plain and GenARM-guided decoding, and the guided/plain time ratio
// beside the ARM/base compute ratio. GenARM's promise is that guidance costs one extra forward
// per ARM per token: guided time should be at most (1 + ARM cost / base cost) x plain, plus 10%.
//
//   npm run build && node bench/generate/run.mjs [--base DIR] [--arm DIR] [--tokens N] [--batch B] [--rounds R]
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { CausalLM } from '../../dist/models/index.js';
import { generate } from '../../dist/generate/index.js';

const { values } = parseArgs({ options: {
  base: { type: 'string', default: 'data/models/tiny-gpt2' }, arm: { type: 'string' },
  tokens: { type: 'string', default: '64' }, batch: { type: 'string', default: '4' }, rounds: { type: 'string', default: '5' },
} });
const tokens = Number(values.tokens);
const batch = Number(values.batch);
const rounds = Number(values.rounds);
const session = { intraOpThreads: 1, allowSpinning: false };
const base = await CausalLM.load(path.resolve(values.base), { session });
const arm = await CausalLM.load(path.resolve(values.arm ?? values.base), { session });
const prompts = ['Once upon a time', 'The little dog', 'In the morning', 'She said'].slice(0, batch);
while (prompts.length < batch) prompts.push(`Story number ${prompts.length}`);
const ids = prompts.map((p) => base.tokenizer.encode(p));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timeDecode(guides) {
  const t0 = performance.now();
  await generate(base, base.tokenizer, ids, { sampler: 'greedy', maxNewTokens: tokens, stopAtEos: false }, guides);
  return (performance.now() - t0) / 1000;
}

/** Median time of one cached single-token step for a model: its per-token compute cost. */
async function stepCost(model) {
  const first = await model.step({ ids, attentionMask: ids.map((r) => r.map(() => 1)) });
  const times = [];
  let past = first.past;
  let mask = ids.map((r) => r.map(() => 1));
  for (let i = 0; i < 30; i++) {
    mask = mask.map((r) => [...r, 1]);
    const t0 = performance.now();
    const out = await model.step({ ids: ids.map(() => [1]), attentionMask: mask, past });
    times.push(performance.now() - t0);
    past = out.past;
  }
  return median(times);
}

// equal-length prompts for the cost probe
ids.forEach((r, i) => (ids[i] = r.slice(0, Math.min(...ids.map((x) => x.length)))));
await timeDecode([]); // warm-up
const plain = [];
const guided = [];
for (let r = 0; r < rounds; r++) {
  plain.push(await timeDecode([]));
  guided.push(await timeDecode([{ model: arm, alpha: 1 }]));
}
const baseCost = await stepCost(base);
const armCost = await stepCost(arm);
const generated = tokens * batch;
const plainS = median(plain);
const guidedS = median(guided);
const bound = (1 + armCost / baseCost) * 1.1;
console.log(`machine: ${(await import('node:os')).cpus()[0].model}, ${(await import('node:os')).cpus().length} cores; batch ${batch}, ${tokens} new tokens, ${rounds} rounds (medians)`);
console.log(`plain decoding : ${(generated / plainS).toFixed(0)} tokens/s`);
console.log(`GenARM (1 ARM) : ${(generated / guidedS).toFixed(0)} tokens/s`);
console.log(`guided/plain time ratio: ${(guidedS / plainS).toFixed(2)}   ARM/base step cost ratio: ${(armCost / baseCost).toFixed(2)}   bound (1 + ARM/base) x 1.1: ${bound.toFixed(2)}   ${guidedS / plainS <= bound ? 'within bound' : 'OVER bound'}`);
