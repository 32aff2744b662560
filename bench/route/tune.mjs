// Chooses the recommended `route select --strategy active` configuration on the DEVELOPMENT part of
// PandaLM only (the test part is never read here): every configuration of the grid is evaluated
// under the strict protocol (human labels only for routed pairs) at 25% and 50% budgets against 20
// random selections. The recommended configuration (the defaults of `route select --strategy
// active` and `route eval`) is the one with the largest mean gain over random among those with one
// round after the pilot (more rounds mean more waits for annotators, so they stay an option).
//
//   npm run build && nice -n 10 node bench/route/tune.mjs [--split-seed 7] [--dev 0.5] [--selections 20]

import os from 'node:os';
import { parseArgs } from 'node:util';
import {
  aggregateVerdicts, budgetedEvaluation, createTagger, devTestSplit, extractFeatures, judgeNames, loadPandaLM, pandalmFiles, verdictReliability, verdictsFromRow,
} from '../../dist/routing/index.js';

const { values } = parseArgs({ options: { 'split-seed': { type: 'string', default: '7' }, dev: { type: 'string', default: '0.5' }, selections: { type: 'string', default: '20' }, grid: { type: 'string', default: 'full' } } });
console.log(`# tune on the development part; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ${os.cpus()[0].model}`);

const data = loadPandaLM();
const files = pandalmFiles(data);
const { dev } = devTestSplit(data.pairs.length, Number(values.dev), Number(values['split-seed']));
const pairs = dev.map((i) => data.pairs[i]);
const verdicts = dev.map((i) => verdictsFromRow(files.pairs[i], { row: i + 1 }));
const judges = judgeNames(verdicts);
const ai = aggregateVerdicts('majority', verdicts, judges).labels;
const table = await extractFeatures(pairs, { tagger: createTagger('rules') }, verdictReliability(verdicts, judges, ai));
const pool = { table, ai, gold: dev.map((i) => data.majority[i]), humans: dev.map((i) => data.annotators[i]) };
console.log(`dev: ${dev.length} pairs, judges ${judges.join(', ')}, features ${table.names.length}`);

const grid = [];
for (const featureSet of ['paper', 'reliability', 'reliability-only'])
  for (const mixes of ['instances', 200])
    for (const ridge of mixes === 'instances' ? [1e-4, 1e-3, 1e-2, 1e-1] : [1e-3, 1e-2, 1e-1, 1])
      for (const pilotFraction of values.grid === 'full' ? [0.2, 0.3, 0.5] : [0.3])
        for (const pilotSampling of values.grid === 'full' ? ['random', 'stratified'] : ['random'])
          for (const rounds of values.grid === 'full' ? [1, 3] : [1]) grid.push({ featureSet, mixes, ridge, pilotFraction, pilotSampling, rounds });

const budgets = [{ fraction: 0.25 }, { fraction: 0.5 }];
const selections = Number(values.selections);
const started = performance.now();
const [random] = [await budgetedEvaluation(pool, { budgets, strategies: ['random'], selections })];
const results = [];
for (const g of grid) {
  const rows = await budgetedEvaluation(pool, {
    budgets, selections, strategies: [`active:topk@${g.featureSet}`],
    active: { strategy: 'topk', pilotFraction: g.pilotFraction, pilotSampling: g.pilotSampling, rounds: g.rounds, ppm: { kind: 'linear', ridge: g.ridge, mixes: g.mixes }, seed: 0, simulations: 200 },
  });
  const gains = rows.map((r, b) => Object.values(r.results)[0].mean - random[b].results.random.mean);
  results.push({ ...g, gains, mean: (gains[0] + gains[1]) / 2 });
}
results.sort((a, b) => b.mean - a.mean);
console.log(`random: ${random.map((r) => (100 * r.results.random.mean).toFixed(2)).join(' / ')} at 25 / 50%; ${grid.length} configurations in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
console.log('| features | PPM mixes | ridge | pilot share | pilot sampling | rounds | gain at 25% (pts) | gain at 50% (pts) | mean |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
const best = results.find((r) => r.rounds === 1);
for (const r of results) console.log(`| ${r.featureSet} | ${r.mixes} | ${r.ridge} | ${r.pilotFraction} | ${r.pilotSampling} | ${r.rounds} | ${(100 * r.gains[0]).toFixed(2)} | ${(100 * r.gains[1]).toFixed(2)} | ${(100 * r.mean).toFixed(2)} |`);
console.log(`\nrecommended (best with one round): feature set ${best.featureSet}, PPM on ${best.mixes} mixes, ridge ${best.ridge}, pilot ${best.pilotFraction} of the budget (${best.pilotSampling}); +${(100 * best.gains[0]).toFixed(2)} / +${(100 * best.gains[1]).toFixed(2)} points on dev`);
