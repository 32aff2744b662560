#!/usr/bin/env node
// Scoring throughput of alignkit's reward model against @huggingface/transformers on the same ONNX
// file and the same token ids, batch by batch (transformers.js has no pipeline for a GPT-2 sequence
// classifier; its GPT2Model runs the same graph, which holds the head, and returned identical scores
// in this run's check). Two inputs: UltraFeedback prompt + chosen response pairs at their real
// lengths (cut to the model's window), where alignkit's length buckets avoid padding every row to
// the batch's longest, and the same rows cut to one length, where only the per-batch overhead
// differs. Each side is a child process (bench/score-server/peer.mjs); timings alternate in rounds,
// each at least --min-seconds long; medians compared.
//   node bench/score-server/direct.mjs [--model DIR] [--items 256] [--batch 32] [--equal-length 64] [--rounds 5] [--min-seconds 1] [--threads 2] [--json]
import fs from 'node:fs';
import { register } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeMachine, loadLine, machine, mb, median } from '../machine.mjs';
import { alternateRounds, startPeer } from '../torch-peer.mjs';

register('../../src/dev/ts-source-hooks.mjs', import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const { values: a } = parseArgs({ options: {
  model: { type: 'string', default: 'data/models/alignkit-rm' }, items: { type: 'string', default: '256' }, batch: { type: 'string', default: '32' },
  'equal-length': { type: 'string', default: '64' }, rounds: { type: 'string', default: '5' }, 'min-seconds': { type: 'string', default: '1' },
  threads: { type: 'string', default: '2' }, json: { type: 'boolean', default: false },
  data: { type: 'string', default: path.join(root, '..', 'shared', 'datasets', 'preference_pairs', 'ultrafeedback_binarized_sample_train.jsonl') },
} });
const log = (s) => !a.json && console.log(s);

const { loadModelDir } = await import(path.join(root, 'src/models/index.ts'));
const { encodeForDecoderClassifier } = await import(path.join(root, 'src/models/encode.ts'));
const dir = await loadModelDir(path.resolve(root, a.model));
const window = Math.min(dir.arch.maxPositions ?? Infinity, dir.tokenizer.modelMaxLength);
const pairs = fs.readFileSync(a.data, 'utf8').split('\n').filter(Boolean).slice(0, Number(a.items)).map((l) => JSON.parse(l));
const natural = pairs.map((p, i) => encodeForDecoderClassifier(dir.tokenizer, { prompt: p.prompt, response: p.chosen }, i, window, true).ids);
const L = Number(a['equal-length']);
const equal = natural.filter((r) => r.length >= L).map((r) => r.slice(0, L));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-score-bench-'));
const sets = { 'UltraFeedback lengths': natural, [`equal length ${L}`]: equal };
const lengths = natural.map((r) => r.length).sort((x, y) => x - y);
log(describeMachine());
log(`scoring ${a.model} (window ${window}), batches of ${a.batch}, ${a.threads} intra-op threads on both sides; UltraFeedback rows: ${natural.length}, tokens min ${lengths[0]} / median ${median(lengths)} / max ${lengths.at(-1)}; equal-length rows: ${equal.length}`);

const result = { machine: machine(), sets: {} };
for (const [name, rows] of Object.entries(sets)) {
  const rowsFile = path.join(tmp, `${name.replace(/\W+/g, '-')}.json`);
  fs.writeFileSync(rowsFile, JSON.stringify(rows));
  const cfg = { model: a.model, threads: Number(a.threads), rowsFile, batch: Number(a.batch) };
  const sides = { alignkit: await startPeer(process.execPath, [path.join(here, 'peer.mjs'), JSON.stringify({ ...cfg, side: 'alignkit' })]), transformers: await startPeer(process.execPath, [path.join(here, 'peer.mjs'), JSON.stringify({ ...cfg, side: 'transformers' })]) };
  const warm = {};
  for (const [k, p] of Object.entries(sides)) warm[k] = (await p.request({ op: 'run', n: 1 })).ms[0];
  // Passes per timing so that even the faster side's timing lasts --min-seconds.
  const n = Math.max(1, Math.ceil((Number(a['min-seconds']) * 1000) / Math.min(...Object.values(warm))));
  const { samples, last, loads } = await alternateRounds(sides, Number(a.rounds), { op: 'run', n });
  for (const p of Object.values(sides)) await p.close();
  const scores = { alignkit: last.alignkit.result, transformers: last.transformers.result };
  const rss = { alignkit: last.alignkit.maxRssKb, transformers: last.transformers.maxRssKb };
  const maxDiff = scores.alignkit.reduce((m, s, i) => Math.max(m, Math.abs(s - scores.transformers[i])), 0);
  // Whole process: spawn to loaded, the first pass, every timed pass.
  const whole = (k) => sides[k].startMs + warm[k] + samples[k].reduce((x, y) => x + y, 0) * n;
  const rate = (k) => (rows.length / median(samples[k])) * 1000;
  const entry = {
    rows: rows.length, stepsPerTiming: n, loads, maxScoreDiff: maxDiff,
    alignkit: { loadMs: sides.alignkit.startMs, firstMs: warm.alignkit, medianMs: median(samples.alignkit), wholeProcessMs: whole('alignkit'), itemsPerSec: rate('alignkit'), peakRssMb: mb(rss.alignkit) },
    transformers: { loadMs: sides.transformers.startMs, firstMs: warm.transformers, medianMs: median(samples.transformers), wholeProcessMs: whole('transformers'), itemsPerSec: rate('transformers'), peakRssMb: mb(rss.transformers) },
  };
  entry.ratio = entry.alignkit.itemsPerSec / entry.transformers.itemsPerSec;
  result.sets[name] = entry;
  log(`${name} (${rows.length} rows; max |score difference| ${maxDiff.toExponential(1)}; median of ${a.rounds} timings x ${n} passes):`);
  for (const k of ['alignkit', 'transformers']) {
    const s = entry[k];
    log(`  ${k.padEnd(13)} start ${s.loadMs.toFixed(0).padStart(5)} ms, first pass ${s.firstMs.toFixed(0).padStart(5)} ms, pass ${s.medianMs.toFixed(1).padStart(7)} ms = ${s.itemsPerSec.toFixed(0).padStart(5)} items/s, peak RSS ${s.peakRssMb} MB, whole process ${(s.wholeProcessMs / 1000).toFixed(1)} s`);
  }
  log(`  alignkit / transformers.js: ${entry.ratio.toFixed(2)}x (1-minute load ${Math.min(...loads).toFixed(2)}-${Math.max(...loads).toFixed(2)})`);
}
fs.rmSync(tmp, { recursive: true, force: true });
if (a.json) console.log(JSON.stringify(result));
else log(`${loadLine()} at the end`);
