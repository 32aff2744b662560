// Optimising the gold reward model itself ("oracle reward", the setting of Gao et al.'s and Coste et
// al.'s gold-reward curves): each online method trains on the overoptimization experiment's training
// prompts with alignkit-rm-gold as its reward, then bench/rl/gold/eval.mjs measures it on the
// held-out HH prompts against the policy it started from (alignkit-base; RTO: alignkit-base-dpo):
// the same prompts and sampler seeds, `samples` responses per prompt, the per-prompt paired change of
// the gold reward with its standard error, and the KL to the start. This shows that the algorithms
// raise the reward they are given and that the gain carries to prompts never trained on; it says
// nothing of whether a proxy's reward would (README "Overoptimization at this scale").
//
// Each run is the `alignkit train` command printed in results.md (run as a child process, nice'd);
// a run whose output directory holds its model card is not trained again. The prompt files come
// from scripts/coste-experiment.mjs's `data` stage (made here when absent).
//
//   nice -n 10 node --import ./src/dev/register-ts.mjs bench/rl/gold/run.mjs [--work /tmp/rlgold-final]
//     [--only ppo,grpo,...] [--jobs 2] [--samples 4] [--limit 412] [--report] > gold.log 2>&1 &
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chartsToSvg } from '../../../src/train/report/index.ts';
import { evaluatePolicies } from './eval.mjs';

const root = path.resolve(import.meta.dirname, '../../..');
const { values: args } = parseArgs({ options: {
  work: { type: 'string', default: path.join(os.tmpdir(), 'rlgold-final') },
  only: { type: 'string' },
  jobs: { type: 'string', default: '2' },
  samples: { type: 'string', default: '4' },
  limit: { type: 'string', default: '412' },
  threads: { type: 'string', default: '1' },
  // Only rewrite results.md and the plot from results.json.
  report: { type: 'boolean', default: false },
} });
const WORK = path.resolve(args.work);
const DATA = path.join(WORK, 'data');
const models = (name) => `data/models/${name}`;
const GOLD = models('alignkit-rm-gold');
const log = (line) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

/** Flags every run shares: the experiment's prompt files and lengths, the gold model logged on held-out prompts. */
const COMMON = {
  prompts: '$DATA/train-prompts.jsonl', gold: GOLD, 'max-new-tokens': 32, 'max-length': 128, 'max-prompt-length': 64,
  'on-long-prompt': 'truncate', 'eval-fraction': 0, threads: args.threads, 'no-progress': true,
};
/** The runs' own evaluations: 64 held-out prompts, one response each, every eval-every iterations. */
const EVAL_RL = { evalPrompts: 64, evalData: '$DATA/held-prompts.jsonl' };

/** The runs: kind, starting policy, reward and the settings tuned (README "Optimising the gold model"). */
// PPO and RTO: 8 prompts a batch, 4 PPO epochs of minibatches of 8 (the kinds' defaults), scores
// standardised (their default). GRPO and RLOO: a sequence-level advantage spreads its credit over
// every token, so they need more samples a batch to move at all: 8 prompts x 8 responses, one
// REINFORCE-style step on the whole batch; GRPO averages its loss over tokens (TRL's "bnpo": the
// per-response mean of the paper's loss favours long responses among the low-scored ones).
const BASE = models('alignkit-base');
const DPO = models('alignkit-base-dpo');
const PPO_LIKE = { reward: GOLD, 'prompts-per-step': 8, lr: 1e-4, 'kl-coef': 0.05, steps: 60, 'eval-every': 20, 'batch-size': 8, 'micro-batch-size': 8 };
const GROUPS = { reward: GOLD, 'prompts-per-step': 8, 'samples-per-prompt': 8, lr: 1e-4, steps: 80, 'eval-every': 20, 'batch-size': 64, 'micro-batch-size': 8 };
export const RUNS = {
  ppo: { kind: 'ppo', start: BASE, flags: { model: BASE, ...PPO_LIKE } },
  grpo: { kind: 'grpo', start: BASE, flags: { model: BASE, ...GROUPS, 'loss-hp': '{"aggregation":"token"}' } },
  rloo: { kind: 'rloo', start: BASE, flags: { model: BASE, ...GROUPS, 'kl-coef': 0.05 } },
  // RTO starts from the DPO policy; its KL is to that start, its dense reward log(pi_dpo / pi_base).
  rto: { kind: 'rto', start: DPO, flags: { model: DPO, dpo: DPO, 'dpo-reference': BASE, ...PPO_LIKE } },
  // A tighter KL leash (4x the coefficient).
  'ppo-kl0.2': { kind: 'ppo', start: BASE, flags: { model: BASE, ...PPO_LIKE, 'kl-coef': 0.2 } },
  'rto-kl0.2': { kind: 'rto', start: DPO, flags: { model: DPO, dpo: DPO, 'dpo-reference': BASE, ...PPO_LIKE, 'kl-coef': 0.2 } },
  // RTO with twice the prompts a batch (minibatches of 16): less noisy gold signal per update.
  'rto-b16': { kind: 'rto', start: DPO, flags: { model: DPO, dpo: DPO, 'dpo-reference': BASE, ...PPO_LIKE, 'prompts-per-step': 16, 'batch-size': 16 } },
  'rto-b16-kl0.1': { kind: 'rto', start: DPO, flags: { model: DPO, dpo: DPO, 'dpo-reference': BASE, ...PPO_LIKE, 'prompts-per-step': 16, 'batch-size': 16, 'kl-coef': 0.1 } },
  // Not the gold model: the shipped alignkit-rm as the reward, at that tighter leash and 30 iterations.
  'ppo-rm': { kind: 'ppo', start: BASE, flags: { model: BASE, ...PPO_LIKE, reward: models('alignkit-rm'), 'kl-coef': 0.2, steps: 30, 'eval-every': 10 } },
  'ppo-rm-kl0.5': { kind: 'ppo', start: BASE, flags: { model: BASE, ...PPO_LIKE, reward: models('alignkit-rm'), 'kl-coef': 0.5, steps: 30, 'eval-every': 10 } },
  // The gold model minus 2: with the scores standardised (PPO's default) the run should match `ppo`; without, the offset steers it.
  'ppo-shifted': { kind: 'ppo', start: BASE, flags: { model: BASE, ...PPO_LIKE, reward: 'js:bench/rl/gold/gold-minus-2.mjs' } },
  'ppo-shifted-raw': { kind: 'ppo', start: BASE, flags: { model: BASE, ...PPO_LIKE, reward: 'js:bench/rl/gold/gold-minus-2.mjs' }, rl: { normalizeScores: false } },
};

const argv = (run, out) => {
  const flags = { ...run.flags, ...COMMON, rl: JSON.stringify({ ...EVAL_RL, ...run.rl }), output: out };
  return ['train', run.kind, ...Object.entries(flags).flatMap(([k, v]) => (v === true ? [`--${k}`] : [`--${k}`, String(v).replaceAll('$DATA', DATA)]))];
};
/** The command as README shows it: DIR for the prompt files' directory, OUT for the output. */
const commandLine = (run) => `alignkit ${argv(run, 'OUT').map((a) => (a.startsWith('{') ? `'${a}'` : a)).join(' ').replaceAll(DATA, 'DIR/data')}`;

/** The run's training time, as its model card states it. */
const cardSeconds = (out) => Number(/^- Time: ([\d.]+) s/m.exec(fs.readFileSync(path.join(out, 'README.md'), 'utf8'))?.[1]);

function train(name, run) {
  const out = path.join(WORK, name);
  if (fs.existsSync(path.join(out, 'README.md'))) return Promise.resolve(cardSeconds(out));
  const logFile = fs.openSync(path.join(WORK, `${name}.log`), 'w');
  const child = spawn(process.execPath, ['--import', './src/dev/register-ts.mjs', 'src/cli/main.ts', ...argv(run, out)], { cwd: root, stdio: ['ignore', logFile, logFile] });
  return new Promise((resolve, reject) => child.on('exit', (code) => {
    if (code !== 0) return reject(new Error(`${name}: alignkit train exited with ${code} (${path.join(WORK, `${name}.log`)})`));
    const seconds = cardSeconds(out);
    log(`${name}: trained in ${seconds.toFixed(0)} s`);
    resolve(seconds);
  }));
}

/** Runs the names `jobs` at a time (the machine has 2 cores; each run uses one thread). */
async function pool(names, jobs, work) {
  const queue = [...names];
  await Promise.all(Array.from({ length: jobs }, async () => {
    while (queue.length) await work(queue.shift());
  }));
}

/** The runs' own held-out evaluation (one response per prompt, every eval-every iterations): the curve of the plot. */
function curve(out) {
  return fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => 'eval/gold/reward' in m)
    .map((m) => ({ step: m.step, kl: m['eval/kl'], gold: m['eval/gold/reward'], length: m['eval/lengths/response'] }));
}

fs.mkdirSync(WORK, { recursive: true });
if (!fs.existsSync(path.join(DATA, 'held-prompts.jsonl'))) {
  log(`prompt files: scripts/coste-experiment.mjs --work ${WORK} --only data`);
  await new Promise((resolve, reject) => spawn(process.execPath, ['scripts/coste-experiment.mjs', '--work', WORK, '--only', 'data'], { cwd: root, stdio: 'inherit' }).on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`data stage exited with ${c}`)))));
}
const names = args.report ? [] : args.only ? args.only.split(',') : Object.keys(RUNS);
const seconds = {};
await pool(names, Number(args.jobs), async (name) => (seconds[name] = await train(name, RUNS[name])));

if (names.length) log(`evaluating on ${args.limit} held-out prompts x ${args.samples} samples (load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')})`);
const results = {};
for (const start of new Set(names.map((n) => RUNS[n].start))) {
  const group = names.filter((n) => RUNS[n].start === start);
  const r = await evaluatePolicies({ policies: [start, ...group.map((n) => path.join(WORK, n))], prompts: path.join(DATA, 'held-prompts.jsonl'), gold: GOLD, limit: Number(args.limit), samples: Number(args.samples), threads: Number(args.threads) });
  group.forEach((n, i) => {
    const m = r.policies[i + 1];
    const c = r.changes[i];
    results[n] = {
      kind: RUNS[n].kind, reward: RUNS[n].flags.reward, start, command: commandLine(RUNS[n]), trainSeconds: seconds[n],
      goldStart: r.policies[0].gold, goldEnd: m.gold, change: c.change, pairedStdErr: c.stdErr, standardErrors: c.standardErrors,
      kl: m.kl, length: { start: r.policies[0].length, end: m.length }, eosFraction: { start: r.policies[0].eosFraction, end: m.eosFraction },
      curve: curve(path.join(WORK, n)),
    };
    log(`${n}: gold ${m.gold.mean.toFixed(3)} from ${r.policies[0].gold.mean.toFixed(3)}, ${c.change >= 0 ? '+' : ''}${c.change.toFixed(3)} ± ${c.stdErr.toFixed(3)} (${c.standardErrors.toFixed(1)} SE) at KL ${m.kl.mean.toFixed(2)}`);
  });
}

const out = path.join(root, 'bench/rl/gold');
// Runs evaluated by an earlier call (--only) stay in the results beside the new ones.
const resultsFile = path.join(out, 'results.json');
const earlier = fs.existsSync(resultsFile) ? JSON.parse(fs.readFileSync(resultsFile, 'utf8')).runs : {};
const runs = Object.fromEntries(Object.keys(RUNS).filter((n) => results[n] ?? earlier[n]).map((n) => [n, results[n] ?? { ...earlier[n], reward: RUNS[n].flags.reward }]));
const settings = { prompts: 'held-out HH-RLHF prompts (coste-experiment data stage)', limit: Number(args.limit), samples: Number(args.samples), seed: 1, maxNewTokens: 32, gold: GOLD };
fs.writeFileSync(resultsFile, `${JSON.stringify({ date: new Date().toISOString(), cpu: os.cpus()[0]?.model, loadAverage: os.loadavg(), settings, runs }, null, 2)}\n`);
const f = (x, d = 3) => x.toFixed(d);
const lines = [
  '# Optimising the gold reward model (oracle reward)', '',
  `Generated by \`bench/rl/gold/run.mjs\` (${new Date().toISOString().slice(0, 10)}). Each policy trained with alignkit-rm-gold as its reward on the training prompts, then evaluated with its start on ${args.limit} held-out HH-RLHF prompts x ${args.samples} samples (same seeds); ± is the standard error of the per-prompt paired change. KL: to the start policy, nats per response (sum over tokens).`, '',
  '| run | reward | start | KL | gold: start → end | change ± paired SE | SE | response tokens | train s |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...Object.entries(runs).map(([n, r]) => `| ${n} | ${path.basename(r.reward)} | ${path.basename(r.start)} | ${f(r.kl.mean, 2)} | ${f(r.goldStart.mean)} → ${f(r.goldEnd.mean)} | ${r.change >= 0 ? '+' : ''}${f(r.change)} ± ${f(r.pairedStdErr)} | ${f(r.standardErrors, 1)} | ${f(r.length.start, 1)} → ${f(r.length.end, 1)} | ${f(r.trainSeconds, 0)} |`),
  '', '## Commands (DIR: the work directory of scripts/coste-experiment.mjs, OUT: the output)', '',
  ...Object.entries(runs).flatMap(([n, r]) => [`${n}:`, '', `    ${r.command}`, '']),
];
fs.writeFileSync(path.join(out, 'results.md'), `${lines.join('\n')}\n`);
// The runs' own evaluations (64 held-out prompts, one response each) as curves: gold reward against KL to the start.
fs.writeFileSync(path.join(out, 'gold-vs-kl.svg'), chartsToSvg([{
  title: 'Optimising the gold model: held-out gold reward against KL to the start (the runs\' own evaluations)', xLabel: 'KL (nats)', yLabel: 'gold reward',
  series: Object.entries(runs).filter(([n]) => RUNS[n].flags.reward === GOLD).map(([n, r]) => ({ name: `${n.toUpperCase()} (from ${path.basename(r.start)})`, points: r.curve.map((p) => [p.kl, p.gold]) })),
}]));
log('bench/rl/gold/results.md');
