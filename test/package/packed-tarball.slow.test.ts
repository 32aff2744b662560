// Regressions of issue #12 §6, on the package a user installs: `npm pack`, install the tarball into a
// fresh app (offline, from the npm cache `npm ci` filled), import every export, run one optimizer
// step on the WebAssembly kernel (the .wasm was missing from the package: ENOENT), score one pair,
// take one training step, and drive the installed `alignkit` binary.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-pack-'));
const app = path.join(dir, 'app');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; exports: Record<string, unknown> };
// What a library user sets (README, install section) so onnxruntime-node does not try to download CUDA binaries.
const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' };
let tarball = '';
let files: string[] = [];

// Everything the smoke script does, in the installed app, printed as one JSON line.
const SMOKE = `
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const subpaths = ${JSON.stringify(Object.keys(pkg.exports))};
const exported = {};
for (const sub of subpaths) {
  const mod = await import(sub === '.' ? 'alignkit' : 'alignkit/' + sub.slice(2));
  exported[sub] = Object.keys(mod).length;
}
const data = fileURLToPath(new URL('../data', import.meta.resolve('alignkit')));

const { createOptimizer, WasmArena } = await import('alignkit/optim');
const arena = new WasmArena(1 << 22);
const w = arena.param('w', [1024], new Float32Array(1024).fill(1));
const opt = createOptimizer('adamw', { lr: 0.1, weightDecay: 0 }, { arena });
opt.step([w], { w: new Float32Array(1024).fill(0.5) });

const { OnnxRewardModel } = await import('alignkit/rewards');
const rm = await OnnxRewardModel.load(path.join(data, 'models/tiny-gpt2-rm'));
const [a, b] = await rm.score([{ prompt: 'Name a prime.', response: '7' }, { prompt: 'Name a prime.', response: '8' }]);

const { loadModel } = await import('alignkit/graph');
const { prepareCausalLmTraining, Trainer, TokenWindowSampler } = await import('alignkit/train');
const source = loadModel(path.join(data, 'models/tiny-gpt2/onnx/model.onnx'));
const prep = prepareCausalLmTraining(source, { loss: 'next-token' });
const trainer = await Trainer.create({ training: prep.training, source: prep.forward, optimizer: createOptimizer('adamw', { lr: 1e-3 }) });
const ids = Array.from({ length: 400 }, (_, i) => (i * 7) % 400);
const sampler = new TokenWindowSampler(ids, { batch: 2, sequence: 16, seed: 0 });
const step = await trainer.step([sampler.next()]);

console.log(JSON.stringify({ exported, kernels: opt.kernelNames(), w0: w.data[0], scores: [a[0], b[0]], loss: step.loss }));
`;

beforeAll(() => {
  const packed = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: REPO_ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const info = (JSON.parse(packed) as { filename: string; files: { path: string }[] }[])[0]!;
  tarball = path.join(dir, info.filename);
  files = info.files.map((f) => f.path);
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
  // Without install scripts: compiling better-sqlite3 from source (no network for its prebuilt
  // binary) takes minutes here and is no part of alignkit's package, so its addon is copied from
  // this checkout when the versions match (rebuilt otherwise).
  const npm = (args: string[]) => {
    const r = spawnSync('npm', args, { cwd: app, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`npm ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  // (onnxruntime-node's postinstall would try api.nuget.org for CUDA binaries unless
  // ONNXRUNTIME_NODE_INSTALL=skip, as the README's install section says; nothing here needs them.)
  npm(['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts']);
  const addon = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
  const version = (root: string) => (JSON.parse(fs.readFileSync(path.join(root, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string }).version;
  if (version(app) === version(REPO_ROOT) && fs.existsSync(path.join(REPO_ROOT, addon))) {
    fs.mkdirSync(path.dirname(path.join(app, addon)), { recursive: true });
    fs.copyFileSync(path.join(REPO_ROOT, addon), path.join(app, addon));
  } else npm(['rebuild', 'better-sqlite3']);
}, 1_200_000);

describe('the packed npm package', () => {
  it('ships the built library with the wasm kernel and the data, not the sources, tests or unlicensed routing files', () => {
    expect(files).toContain('dist/optim/kernels/optim_kernels.wasm');
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('data/models/alignkit-rm/onnx/model.onnx');
    expect(files.filter((f) => /^(src|test|bench)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith('data/routing/hybrid_preferences/'))).toEqual([]);
  });

  it('imports every export, steps the wasm AdamW kernel, scores a pair and takes a training step', () => {
    fs.writeFileSync(path.join(app, 'smoke.mjs'), SMOKE);
    const run = spawnSync(process.execPath, ['smoke.mjs'], { cwd: app, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { exported: Record<string, number>; kernels: string[]; w0: number; scores: number[]; loss: number };
    for (const [sub, n] of Object.entries(r.exported)) expect(n, sub).toBeGreaterThan(0);
    expect(r.kernels).toEqual(['adam']); // AdamW runs the Adam family's kernel (decoupled decay is one of its parameters)
    expect(r.w0).toBeCloseTo(0.9, 5); // Adam's first step moves each weight by lr
    expect(r.scores.every(Number.isFinite)).toBe(true);
    expect(r.scores[0]).not.toBe(r.scores[1]);
    expect(Number.isFinite(r.loss)).toBe(true);
  });

  it('installs the alignkit binary: --version, score on a shipped sample, route fit explains the missing mix table', () => {
    const bin = path.join(app, 'node_modules/.bin/alignkit');
    expect(execFileSync(bin, ['--version'], { cwd: app, encoding: 'utf8' }).trim()).toBe(pkg.version);
    const data = path.join(app, 'node_modules/alignkit/data');
    const out = path.join(dir, 'scored.jsonl');
    const score = spawnSync(bin, ['score', '--model', path.join(data, 'models/tiny-gpt2-rm'), '--data', path.join(data, 'samples/ultrafeedback_binarized_sample_train.60.jsonl'), '--output', out], { cwd: app, encoding: 'utf8' });
    expect(score.status, score.stderr).toBe(0);
    expect(fs.readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(60);
    const fit = spawnSync(bin, ['route', 'fit'], { cwd: app, encoding: 'utf8' });
    expect(fit.status).toBe(1);
    expect(fit.stderr).toContain('is not in the npm package (allenai/hybrid-preferences, where it comes from, states no license');
  });
});
