// Routing bench: (1) features (lexical scores + rules tagger) and topk / random routing for 100k
// synthetic pairs, in seconds; (2) label-store write throughput with durability on
// (WAL, synchronous=FULL: one fsync'd transaction per label, as the server acknowledges them).
//
//   npm run build && node bench/route/run.mjs [--pairs 100000] [--labels 2000]

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRng, createTagger, extractFeatures, fitPpm, openLabelStore, readMixTable, routeTable, VALIDATION_SET_FILE } from '../../dist/routing/index.js';

const { values } = parseArgs({ options: { pairs: { type: 'string', default: '100000' }, labels: { type: 'string', default: '2000' } } });
const N = Number(values.pairs);
const LABELS = Number(values.labels);

// Synthetic pairs: prompts and responses of varied length from a small vocabulary, with some
// capitalised names, numbers and tagger keywords so every feature family fires.
const VOCAB = 'the a of to and in is it you that for on with as be this are was write story poem code python calculate number health business recipe travel history explain list why how what when where please help answer model data table'.split(' ');
const NAMES = ['Paris', 'Alice Smith', 'New York', 'Python', 'Mars', 'Bob'];
function sentence(rng, words) {
  const out = [];
  for (let i = 0; i < words; i++) {
    const r = rng.next();
    out.push(r < 0.05 ? NAMES[Math.floor(rng.next() * NAMES.length)] : r < 0.08 ? String(Math.floor(rng.next() * 1000)) : VOCAB[Math.floor(rng.next() * VOCAB.length)]);
  }
  return out.join(' ') + '.';
}
const rng = createRng(1);
const pairs = Array.from({ length: N }, (_, i) => ({
  id: `s${i}`,
  prompt: sentence(rng, 5 + Math.floor(rng.next() * 40)),
  responseA: sentence(rng, 5 + Math.floor(rng.next() * 120)),
  responseB: sentence(rng, 5 + Math.floor(rng.next() * 120)),
}));

// The machine is shared: wall time is reported with the process CPU time next to it.
const cpuSeconds = (since) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
};
let t = performance.now();
let cpu = process.cpuUsage();
const table = await extractFeatures(pairs, { tagger: createTagger('rules') });
const featureSeconds = (performance.now() - t) / 1000;
const featureCpu = cpuSeconds(cpu);

const model = fitPpm(readMixTable(VALIDATION_SET_FILE).data, { ridge: 1 });
t = performance.now();
cpu = process.cpuUsage();
const topk = routeTable(table, { strategy: 'topk', budget: 0.25, model });
const topkSeconds = (performance.now() - t) / 1000;
const topkCpu = cpuSeconds(cpu);
t = performance.now();
routeTable(table, { strategy: 'random', budget: 0.25 });
const randomSeconds = (performance.now() - t) / 1000;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-route-bench-'));
const store = await openLabelStore({ location: path.join(dir, 'labels.sqlite'), synchronous: 'FULL' });
await store.addPairs(pairs.slice(0, LABELS));
const annotator = await store.createAnnotator('bench');
t = performance.now();
// The write alone (an admin override skips the hand-out that GET /next would do first).
for (let i = 0; i < LABELS; i++) await store.submitHumanLabel({ pairId: `s${i}`, annotatorId: annotator.id, scale: (i % 5) - 2, confidence: 1, override: true });
const labelSeconds = (performance.now() - t) / 1000;
await store.close();
fs.rmSync(dir, { recursive: true, force: true });

console.log(`| measure | value |\n| --- | --- |`);
console.log(`| pairs | ${N} |`);
console.log(`| features (9 lexical scores + rules tagger -> 90 binary) | ${featureSeconds.toFixed(2)} s wall, ${featureCpu.toFixed(2)} s CPU |`);
console.log(`| topk routing at 25% (gains + sort) | ${topkSeconds.toFixed(2)} s wall, ${topkCpu.toFixed(2)} s CPU (${topk.selection.human.length} to humans) |`);
console.log(`| random routing at 25% | ${randomSeconds.toFixed(3)} s |`);
console.log(`| label-store writes, WAL + synchronous=FULL, one transaction per label | ${(LABELS / labelSeconds).toFixed(0)} labels/s (${LABELS} labels in ${labelSeconds.toFixed(2)} s) |`);
