// Throughput of `alignkit jobs` scoring with 1 and 2 worker processes, against `alignkit score` in
// one process on the same rows, in the same run; checks that every output is byte-identical.
//
//   npm run build && node bench/jobs/run.mjs [--model DIR] [--rows 20000] [--chunk 1024] [--batch-size 32]
//
// Rows are (prompt, response) rows cut from the HH-RLHF pairs in ../shared/datasets (each side of a
// pair a row, repeated with a row number appended until --rows). Redis is Debian's redis-server,
// started here on a free port and stopped at the end. One worker runs with 2 onnxruntime threads
// (the machine's cores), two workers with 1 thread each; the single process with 2 threads.
// Times include loading the models (once per process) and assembling the output.

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadPreferenceData } from '../../dist/datasets/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(root, 'data/models/alignkit-rm') },
    rows: { type: 'string', default: '20000' },
    chunk: { type: 'string', default: '1024' },
    'batch-size': { type: 'string', default: '32' },
    data: { type: 'string', default: path.join(root, '..', 'shared', 'datasets', 'preference_pairs', 'hh_rlhf_harmless_base_test.jsonl') },
  },
});
const ROWS = Number(values.rows);
const cli = path.join(root, 'dist/cli/main.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-bench-jobs-'));
const cpu = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1];
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

const pairs = (await loadPreferenceData(values.data, { kind: 'paired' })).examples;
const input = path.join(dir, 'rows.jsonl');
fs.writeFileSync(input, Array.from({ length: ROWS }, (_, i) => {
  const p = pairs[Math.floor(i / 2) % pairs.length];
  return JSON.stringify({ id: `r${i}`, prompt: p.prompt, response: `${i % 2 ? p.rejected : p.chosen} (${i})` });
}).join('\n'));

async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

const port = await freePort();
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
const url = `redis://127.0.0.1:${port}`;
await new Promise((r) => setTimeout(r, 500));

const scoreFlags = ['--model', values.model, '--batch-size', values['batch-size']];

function single() {
  const out = path.join(dir, 'single.jsonl');
  const t = performance.now();
  execFileSync(process.execPath, [cli, 'score', '--data', input, '--output', out, '--threads', '2', '--no-progress', ...scoreFlags], { stdio: 'ignore' });
  return { seconds: (performance.now() - t) / 1000, out };
}

async function jobs(workers, threads) {
  const run = path.join(dir, `run-${workers}`);
  const children = Array.from({ length: workers }, () => spawn(process.execPath, [cli, 'jobs', 'worker', '--redis', url, '--threads', String(threads)], { stdio: 'ignore' }));
  const t = performance.now();
  execFileSync(process.execPath, [cli, 'jobs', 'submit', 'score', '--data', input, '--output', run, '--redis', url, '--chunk', values.chunk, ...scoreFlags], { stdio: 'ignore', env: { ...process.env, ALIGNKIT_PROGRESS_INTERVAL: '3600' } });
  const seconds = (performance.now() - t) / 1000;
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => new Promise((r) => c.once('exit', r))));
  return { seconds, out: path.join(run, 'output.jsonl') };
}

console.log(`alignkit jobs bench: ${ROWS} rows, model ${path.basename(values.model)}, chunk ${values.chunk}, batch ${values['batch-size']}; CPU ${cpu}, ${os.cpus().length} cores; load average at start ${load()}`);
const results = [];
for (const [name, fn] of [['one process (alignkit score, 2 threads)', single], ['jobs, 1 worker (2 threads)', () => jobs(1, 2)], ['jobs, 2 workers (1 thread each)', () => jobs(2, 1)]]) {
  const r = await fn();
  results.push({ name, ...r });
  console.log(`${name}: ${r.seconds.toFixed(1)} s, ${(ROWS / r.seconds).toFixed(1)} rows/s (load average ${load()})`);
}
const same = results.every((r) => fs.readFileSync(r.out).equals(fs.readFileSync(results[0].out)));
console.log(`outputs byte-identical: ${same}; 2 workers / 1 worker: ${(results[1].seconds / results[2].seconds).toFixed(2)}x`);
redis.kill('SIGTERM');
fs.rmSync(dir, { recursive: true, force: true });
