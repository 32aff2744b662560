// Where an online run's rewards come from: a table of reward-spec kinds, each loading a
// RewardModel (the contract src/rewards, the server and best-of-n share), so that several specs
// form a RewardEnsemble combined by mean, min (WCO) or uncertainty (UWO) like any other ensemble
// (Coste et al., "Reward Model Ensembles Help Mitigate Overoptimization").
//   http(s)://HOST/get_reward   OpenRLHF's remote protocol (remote-reward.ts): prompt + response, and the prompt
//   js:FILE                     a module whose default export maps [{prompt, response}] to numbers (rule-based rewards)
//   anything else               a reward model as `alignkit eval rm` loads it: DIR, or KIND:ARG (flr:DIR, ...)

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fail } from '../../errors.js';
import { loadRewardModelSpec } from '../../eval/model-specs.js';
import { RewardEnsemble, type CombineConfig, type RewardModel, type ScoreItem, type Text } from '../../rewards/index.js';
import { remoteReward } from './remote-reward.js';

export interface RewardSpecContext {
  /** A prompt as the policy saw it, as text (a chat prompt through the tokenizer's template): what a remote server scores before the response. */
  render(prompt: Text): string;
}

/** A rule-based reward module's default export. */
export type RewardFunction = (items: ScoreItem[]) => number[] | Promise<number[]>;

function unboundedModel(name: string, score: (items: ScoreItem[]) => Promise<number[]>): RewardModel {
  return { name, heads: ['reward'], maxLength: Number.MAX_SAFE_INTEGER, score: async (items) => (await score(items)).map((r) => Float32Array.of(r)) };
}

async function functionModule(spec: string): Promise<RewardModel> {
  const file = path.resolve(spec.slice('js:'.length));
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (e) {
    throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `reward module ${file} could not be imported: ${(e as Error).message}`, { file, field: 'reward' }, e);
  }
  const fn = mod.default;
  if (typeof fn !== 'function') throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `reward module ${file} must default-export a function ([{prompt, response}]) => number[]`, { file, field: 'reward' });
  return unboundedModel(spec, async (items) => {
    const out = await (fn as RewardFunction)(items);
    if (!Array.isArray(out) || out.length !== items.length || out.some((x) => typeof x !== 'number' || !Number.isFinite(x)))
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `reward module ${file} returned ${JSON.stringify(out)?.slice(0, 100)} for ${items.length} items; it must return one finite number per item`, { file, field: 'reward' });
    return out;
  });
}

interface RewardSpecKind {
  matches(spec: string): boolean;
  load(spec: string, ctx: RewardSpecContext): Promise<RewardModel>;
}

export const REWARD_SPEC_KINDS: Record<string, RewardSpecKind> = {
  remote: {
    matches: (s) => /^https?:\/\//.test(s),
    load: async (url, ctx) => {
      const score = remoteReward(url);
      return unboundedModel(url, (items) => score(items.map((it) => {
        const prompt = ctx.render(it.prompt);
        return { query: `${prompt}${typeof it.response === 'string' ? it.response : ctx.render(it.response)}`, prompt };
      })));
    },
  },
  js: { matches: (s) => s.startsWith('js:'), load: (s) => functionModule(s) },
  model: { matches: () => true, load: (s) => loadRewardModelSpec(s) },
};

export async function loadRewardSpec(spec: string, ctx: RewardSpecContext): Promise<RewardModel> {
  const kind = Object.values(REWARD_SPEC_KINDS).find((k) => k.matches(spec))!;
  return kind.load(spec, ctx);
}

/** The run's reward: one model, or an ensemble of several under `combine`. */
export async function loadReward(specs: readonly string[], combine: CombineConfig, ctx: RewardSpecContext, name = 'reward'): Promise<RewardEnsemble> {
  if (specs.length === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'an online run needs a reward: --reward DIR | http(s)://HOST/get_reward | js:FILE (repeat it for an ensemble)', { field: 'rl.reward' });
  const models: RewardModel[] = [];
  for (const [i, s] of specs.entries()) {
    const m = await loadRewardSpec(s, ctx);
    // Two members may load the same directory name (seeds of one recipe): keep names unique.
    models.push(models.some((x) => x.name === m.name) ? { ...m, name: `${m.name}#${i}`, score: m.score.bind(m), heads: m.heads, maxLength: m.maxLength } : m);
  }
  return new RewardEnsemble(models, combine, name);
}
