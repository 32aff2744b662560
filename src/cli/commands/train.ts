// `alignkit train sft|rm|dpo|unpaired|arm|ppo|rto|grpo|rloo`: a run config from `--config run.json`
// overridden by flags (one table maps each flag to its RunConfig field and parser, another the
// online kinds' flags to their `rl` settings), then one training run.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fail } from '../../errors.js';
import {
  isOnline, KINDS, lossesForKind, readRunConfigFile, resolveRunConfig, RUN_DEFAULTS, runApo, runTraining, TRAIN_KINDS, type RunConfig, type RunResult, type TrainKind,
} from '../../train/run/index.js';
import type { RlSettings } from '../../train/rl/index.js';
import type { StepProgress } from '../../train/report/index.js';
import type { Command, FlagTable } from '../registry.js';
import { numberFlag } from '../options.js';
import { progress, type Progress, type ProgressStream } from '../progress.js';

type Parse = (raw: string, flag: string) => unknown;

const num: Parse = (raw, flag) => numberFlag(raw, flag)!;
const parseJson: Parse = (raw, flag) => {
  try {
    return JSON.parse(raw);
  } catch {
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--${flag} must be a JSON object, got '${raw}'`, { parameter: flag });
  }
};
const json = parseJson;
const str: Parse = (raw) => raw;

/** flag -> RunConfig field and parser (the config validator checks the values). */
const VALUE_FLAGS: Record<string, { field: keyof RunConfig; parse: Parse; help: string }> = {
  model: { field: 'model', parse: str, help: 'model directory (Hugging Face layout with an ONNX graph)' },
  data: { field: 'data', parse: str, help: 'dataset file (JSONL, JSON, Arrow, Parquet; any known column convention)' },
  convention: { field: 'convention', parse: str, help: 'force a dataset column convention' },
  output: { field: 'output', parse: str, help: 'output directory' },
  train: { field: 'train', parse: str, help: 'full | last:N | head | lora' },
  head: { field: 'head', parse: str, help: 'train rm: linear (the model\'s own score head) | moment-probe' },
  'head-hp': { field: 'headHp', parse: json, help: 'head options as JSON, e.g. \'{"heads":4,"headDim":16}\'' },
  loss: { field: 'loss', parse: str, help: 'loss of the registry valid for the kind' },
  'loss-hp': { field: 'lossHp', parse: json, help: 'loss hyperparameters as JSON, e.g. \'{"beta":0.1}\'' },
  optimizer: { field: 'optimizer', parse: str, help: 'optimizer of src/optim' },
  'optimizer-hp': { field: 'optimizerHp', parse: json, help: 'optimizer hyperparameters as JSON' },
  lr: { field: 'lr', parse: num, help: 'learning rate' },
  schedule: { field: 'schedule', parse: str, help: 'constant | linear | cosine' },
  'warmup-steps': { field: 'warmupSteps', parse: num, help: 'linear warmup steps' },
  'batch-size': { field: 'batchSize', parse: num, help: 'examples per optimizer step' },
  'micro-batch-size': { field: 'microBatchSize', parse: num, help: 'examples per forward/backward run' },
  'max-length': { field: 'maxLength', parse: num, help: 'longest prompt + response (tokens)' },
  'max-prompt-length': { field: 'maxPromptLength', parse: num, help: 'longest prompt kept when cutting' },
  'max-completion-length': { field: 'maxCompletionLength', parse: num, help: 'longest response' },
  steps: { field: 'steps', parse: num, help: 'optimizer steps (default: epochs over the training split)' },
  epochs: { field: 'epochs', parse: num, help: 'passes over the training split' },
  seed: { field: 'seed', parse: num, help: 'seed of the split, the order and LoRA init' },
  'eval-fraction': { field: 'evalFraction', parse: num, help: 'held-out share of the examples' },
  'eval-every': { field: 'evalEvery', parse: num, help: 'evaluate every M steps (0: at the end)' },
  'log-every': { field: 'logEvery', parse: num, help: 'metrics line every N steps' },
  'checkpoint-every': { field: 'checkpointEvery', parse: num, help: 'checkpoint every K steps (also on SIGINT)' },
  limit: { field: 'limit', parse: num, help: 'read at most N examples' },
  'spike-factor': { field: 'spikeFactor', parse: num, help: 'gradient-norm spike threshold (x running mean)' },
  threads: { field: 'threads', parse: num, help: 'onnxruntime intra-op threads' },
  'cache-dir': { field: 'cacheDir', parse: str, help: 'cache directory for reference log-probs (default: $ALIGNKIT_CACHE_DIR, else $XDG_CACHE_HOME/alignkit or ~/.cache/alignkit)' },
  device: { field: 'device', parse: str, help: 'cpu | webgpu (GPU from npm: README "GPU") | cuda' },
  adapter: { field: 'adapter', parse: str, help: 'webgpu adapter: index or name (default: a GPU, never a software one)' },
  'revision-template': { field: 'revisionTemplate', parse: str, help: 'SRPO revision prompt around the draft, with {draft} once' },
  rounds: { field: 'rounds', parse: num, help: 'APO rounds (train dpo): iterative DPO, reference = previous round' },
  momentum: { field: 'momentum', parse: num, help: 'APO Nesterov momentum alpha between rounds' },
  regenerate: { field: 'regenerate', parse: json, help: 'online APO rounds: new pairs per round from the policy, e.g. \'{"judge":"data/models/alignkit-rm","n":4}\'' },
  'lora-rank': { field: 'lora', parse: num, help: 'LoRA rank' },
  'lora-alpha': { field: 'lora', parse: num, help: 'LoRA alpha' },
  'lora-targets': { field: 'lora', parse: str, help: "comma-separated name patterns, or 'all-linear'" },
};

/** Online kinds: flag -> `rl` setting (src/train/rl/settings.ts); repeatable flags collect a list. */
const RL_FLAGS: Record<string, { key: keyof RlSettings; parse: Parse; help: string; multiple?: true }> = {
  reward: { key: 'reward', parse: str, multiple: true, help: 'reward: DIR | KIND:ARG | http(s)://HOST/get_reward | js:FILE; repeat for an ensemble' },
  combine: { key: 'combine', parse: str, help: 'ensemble combination: mean | min (WCO) | uncertainty (UWO)' },
  lambda: { key: 'lambda', parse: num, help: "UWO's variance weight" },
  gold: { key: 'gold', parse: str, multiple: true, help: 'gold reward model(s), logged as gold/reward, never optimised' },
  reference: { key: 'reference', parse: str, help: 'frozen reference for the KL (default: --model)' },
  dpo: { key: 'dpoModel', parse: str, help: "RTO: the DPO policy whose token log-ratio is the dense reward" },
  'dpo-reference': { key: 'dpoReference', parse: str, help: "RTO: the DPO policy's reference (default: --reference)" },
  critic: { key: 'critic', parse: str, help: 'PPO/RTO: a separate critic (a reward model, or a causal LM given a fresh value head) instead of a value head on the policy' },
  'critic-lr': { key: 'criticLr', parse: num, help: "the critic's learning rate (default 9 x --lr, OpenRLHF's ratio)" },
  'prompts-per-step': { key: 'promptsPerStep', parse: num, help: 'prompts per rollout batch' },
  'on-long-prompt': { key: 'onLongPrompt', parse: str, help: "a prompt over --max-prompt-length stops the run naming its row, is skipped (listed at the end), or keeps its last tokens (generate's fail|skip|truncate; default fail)" },
  'samples-per-prompt': { key: 'samplesPerPrompt', parse: num, help: 'responses per prompt (GRPO G, RLOO k)' },
  'max-new-tokens': { key: 'maxNewTokens', parse: num, help: 'longest sampled response' },
  'rl-epochs': { key: 'epochs', parse: num, help: 'passes over each rollout batch (PPO epochs)' },
  'kl-coef': { key: 'klCoef', parse: num, help: 'KL penalty coefficient (initial, when adaptive)' },
  'kl-target': { key: 'klTarget', parse: num, help: 'adaptive KL controller target (nats per response)' },
};

const USAGE = `usage: alignkit train ${TRAIN_KINDS.join('|')} [--config run.json] [flags]

${TRAIN_KINDS.map((k) => `  ${k.padEnd(9)} ${KINDS[k].summary}; losses: ${lossesForKind(k).join(', ')}`).join('\n')}

flags (override the config file; defaults in parentheses):
${Object.entries(VALUE_FLAGS)
  .map(([flag, f]) => `  --${flag.padEnd(22)} ${f.help}${f.field in RUN_DEFAULTS && !flag.startsWith('lora-') ? ` (${JSON.stringify((RUN_DEFAULTS as Record<string, unknown>)[f.field])})` : ''}`)
  .join('\n')}
online kinds (${TRAIN_KINDS.filter((k) => isOnline(KINDS[k])).join(', ')}): --prompts FILE (the prompts; --data works too), and
${Object.entries(RL_FLAGS).map(([flag, f]) => `  --${flag.padEnd(22)} ${f.help}`).join('\n')}
  --rl JSON                other RL settings, e.g. '{"gamma":1,"gaeLambda":0.95,"klEstimator":"k3"}'
  --resume                 continue from OUTPUT/checkpoint.safetensors (a finished run: nothing to do; a larger --steps extends it)
  --skip-bad-rows          skip rows that fail validation (counted) instead of stopping
  --no-reference-cache     recompute reference log-probs instead of caching them in the cache directory
  --no-progress            no progress bar
  --recompute              recompute activations in the backward (activation checkpointing: less memory, ~1 more forward)
  --progress-interval S    off a terminal, one progress line every S seconds (default $ALIGNKIT_PROGRESS_INTERVAL, else 10)
  --no-eos                 do not end responses with EOS (the kind's default appends it for causal LMs)`;

function loraOverride(values: Record<string, string | undefined>, base: RunConfig['lora']): RunConfig['lora'] | undefined {
  if (values['lora-rank'] === undefined && values['lora-alpha'] === undefined && values['lora-targets'] === undefined) return undefined;
  const targets = values['lora-targets'];
  return {
    rank: values['lora-rank'] === undefined ? base.rank : (num(values['lora-rank'], 'lora-rank') as number),
    alpha: values['lora-alpha'] === undefined ? base.alpha : (num(values['lora-alpha'], 'lora-alpha') as number),
    targets: targets === undefined ? base.targets : targets === 'all-linear' ? 'all-linear' : targets.split(','),
  };
}

/** The file's `rl` object, then --rl JSON, then the single RL flags; undefined when none is given. */
function rlOverride(values: Record<string, string | string[] | undefined>, file: Partial<RlSettings> | undefined): RlSettings | undefined {
  const fromFlags: Record<string, unknown> = {};
  for (const [flag, f] of Object.entries(RL_FLAGS)) {
    const v = values[flag];
    if (v !== undefined) fromFlags[f.key] = Array.isArray(v) ? v.map((x) => f.parse(x, flag)) : f.parse(v, flag);
  }
  const json = values.rl === undefined ? undefined : (parseJson(values.rl as string, 'rl') as Record<string, unknown>);
  if (json === undefined && Object.keys(fromFlags).length === 0) return undefined;
  return { ...file, ...json, ...fromFlags } as RlSettings;
}

/** Every flag of `train KIND`, for the central --help and unknown-flag checks (main.ts). */
const TRAIN_FLAGS: FlagTable = {
  ...Object.fromEntries(Object.keys(VALUE_FLAGS).map((f) => [f, { type: 'string' as const }])),
  config: { type: 'string' },
  resume: { type: 'boolean' },
  'skip-bad-rows': { type: 'boolean' },
  'no-reference-cache': { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  'no-eos': { type: 'boolean' },
  recompute: { type: 'boolean' },
  'progress-interval': { type: 'string' },
  prompts: { type: 'string' },
  rl: { type: 'string' },
  ...Object.fromEntries(Object.entries(RL_FLAGS).map(([f, d]) => [f, d.multiple ? { type: 'string' as const, multiple: true } : { type: 'string' as const }])),
};

/** RunConfig fields (named by config validation errors) as the flags that set them. */
const TRAIN_FIELD_FLAGS: Record<string, string> = {
  ...Object.fromEntries(Object.entries(VALUE_FLAGS).filter(([flag]) => !flag.startsWith('lora-')).map(([flag, f]) => [f.field, flag])),
  onBadRow: 'skip-bad-rows', referenceCache: 'no-reference-cache', progress: 'no-progress', appendEos: 'no-eos', recompute: 'recompute',
};

/** Flags to a partial RunConfig (booleans only when given, so the file's values survive). */
export function flagsToConfig(kind: TrainKind, argv: string[], fileConfig: Partial<RunConfig>): Partial<RunConfig> {
  const values = parseArgs({ args: argv, options: TRAIN_FLAGS as ParseArgsConfig['options'] }).values as Record<string, string | string[] | boolean | undefined>;
  const out: Partial<RunConfig> = { kind };
  const raw = values as Record<string, string | undefined>;
  if (raw.prompts !== undefined) out.data = raw.prompts;
  out.rl = rlOverride(values as Record<string, string | string[] | undefined>, fileConfig.rl);
  for (const [flag, f] of Object.entries(VALUE_FLAGS)) if (!flag.startsWith('lora-') && raw[flag] !== undefined) (out as Record<string, unknown>)[f.field] = f.parse(raw[flag]!, flag);
  out.lora = loraOverride(raw, { ...RUN_DEFAULTS.lora, ...fileConfig.lora });
  if (values.resume) out.resume = true;
  if (values['skip-bad-rows']) out.onBadRow = 'skip';
  if (values['no-reference-cache']) out.referenceCache = false;
  if (values['no-progress']) out.progress = false;
  if (values['no-eos']) out.appendEos = false;
  if (values.recompute) out.recompute = true;
  return out;
}

/**
 * The run's progress off a terminal (CI logs, `> log 2>&1`): src/cli/progress.ts's periodic line
 * (step, loss, lr, tokens/s, steps/s, ETA) every `intervalS` seconds (default
 * ALIGNKIT_PROGRESS_INTERVAL, else 10) and a closing line. On a terminal, undefined: the run draws
 * its own bar (src/train/report/progress.ts).
 */
export function trainingLines(stream: ProgressStream = process.stderr, intervalS?: number): ((totalSteps: number) => StepProgress) | undefined {
  if (stream.isTTY) return undefined;
  return (totalSteps) => {
    let lines: Progress | undefined;
    let tokens = 0;
    let started = 0;
    return {
      start(first = 0) {
        started = Date.now();
        lines = progress({ total: totalSteps, unit: 'steps', label: 'alignkit train', stream, intervalMs: intervalS === undefined ? undefined : intervalS * 1000, start: first });
      },
      update(u) {
        tokens += u.tokens ?? 0;
        const seconds = (Date.now() - started) / 1000;
        lines?.update(u.step, {
          loss: u.loss === undefined ? '-' : u.loss.toFixed(4),
          lr: u.lr === undefined ? '-' : u.lr.toExponential(2),
          'tok/s': seconds > 0 ? String(Math.round(tokens / seconds)) : '-',
        });
      },
      stop: () => lines?.stop(),
    };
  };
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'fine-tune a model: SFT, reward model, DPO family, KTO/BCO, GenARM reward model, online RL (PPO, RTO, GRPO, RLOO)',
  usage: USAGE,
  subcommands: Object.fromEntries(
    TRAIN_KINDS.map((k): [string, Command] => [k, { name: k, summary: KINDS[k].summary, usage: USAGE, flags: TRAIN_FLAGS, run: (argv) => trainCommand.run([k, ...argv]) }]),
  ),
  fieldFlags: TRAIN_FIELD_FLAGS,
  async run(argv) {
    const [kind, ...rest] = argv;
    if (!kind || !(TRAIN_KINDS as string[]).includes(kind))
      throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `train needs a kind, one of ${TRAIN_KINDS.join(', ')}, got '${kind ?? ''}'\n\n${USAGE}`, { parameter: 'kind' });
    const configIndex = rest.indexOf('--config');
    const fileConfig = configIndex >= 0 && rest[configIndex + 1] ? readRunConfigFile(rest[configIndex + 1]!) : {};
    if (fileConfig.kind !== undefined && fileConfig.kind !== kind)
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `the run config says kind ${fileConfig.kind} but the command is train ${kind}`, { field: 'kind' });
    const config = resolveRunConfig(fileConfig, flagsToConfig(kind as TrainKind, rest, fileConfig));
    const hooks = { progress: trainingLines(process.stderr, progressInterval(rest)) };
    if (config.rounds === 1 && !config.regenerate) {
      report(config, await runTraining(config, hooks), '');
      return 0;
    }
    const apo = await runApo(config, { rounds: config.rounds, momentum: config.momentum }, hooks);
    for (const g of apo.regenerated) console.log(`${g.pairs} pairs regenerated into ${g.file} (${g.ties} prompts dropped: every candidate scored the same)`);
    for (const [i, result] of apo.rounds.entries()) report(config, result, `APO round ${i + 1}: `);
    return 0;
  },
};

/** `--progress-interval S` (a presentation flag, not part of the run config). */
function progressInterval(argv: string[]): number | undefined {
  const i = argv.indexOf('--progress-interval');
  if (i < 0) return undefined;
  const v = numberFlag(argv[i + 1], 'progress-interval');
  if (v === undefined || !(v >= 0)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--progress-interval must be a number of seconds >= 0, got '${argv[i + 1] ?? ''}'`, { parameter: 'progress-interval' });
  return v;
}

/** Skipped rows listed by name after a run; the count covers the rest. */
const SKIPPED_SHOWN = 20;

function report(config: RunConfig, result: RunResult, prefix: string): void {
  if (result.alreadyFinished) {
    console.log(`${prefix}${config.kind} ${config.loss}: already finished at step ${result.steps} in ${result.outDir}; nothing to do (raise --steps or --epochs to extend it)`);
    return;
  }
  const ref = result.reference.file ? `reference log-probs ${result.reference.computed ? 'computed and cached in' : 'read from'} ${result.reference.file}` : isOnline(KINDS[config.kind]) ? 'reference log-probs per rollout batch' : 'no reference pass';
  console.log(`${prefix}${config.kind} ${config.loss}: ${result.steps} steps in ${result.seconds.toFixed(1)} s; ${ref}; ${result.skipped.length} bad rows skipped; ${result.gradientSpikes} gradient spikes`);
  // Each skipped row by name (bad rows of --skip-bad-rows, over-long prompts of --on-long-prompt skip), as generate lists them.
  for (const r of result.skipped.slice(0, SKIPPED_SHOWN)) console.log(`skipped ${r.file} row ${r.row} (${r.field}): ${r.message}`);
  if (result.skipped.length > SKIPPED_SHOWN) console.log(`... and ${result.skipped.length - SKIPPED_SHOWN} more skipped rows`);
  console.log(result.summary);
  console.log(result.interrupted ? `interrupted: checkpoint in ${result.outDir}; rerun with --resume to continue` : `model written to ${result.outDir}`);
}
