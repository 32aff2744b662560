// `alignkit eval policy`: how a trained policy relates to its reference on held-out pairs, from
// forward-only log-probs of both models. The DPO implicit reward of a response is
// r(x, y) = beta (log pi(y|x) - log pi_ref(y|x)) (Rafailov et al. 2023, Eq. 5); its accuracy is the
// share of pairs with r(x, y_w) > r(x, y_l) (beta > 0 does not change the sign), reported with the
// mean margin at the given beta. KL(pi || pi_ref) is estimated by the mean sequence log-ratio over
// both responses of each pair: a Monte-Carlo estimate of the KL when the responses are samples of
// the policy, only a proxy on offline data (the same quantity TRL logs, as src/losses' `kl` metric).

import { fail } from '../../errors.js';
import { loadPreferenceData, splitTrainEval, type PairedExample } from '../../datasets/index.js';
import type { SessionOptions } from '../../graph/index.js';
import { loadModelDir } from '../../models/index.js';
import { tokenizeItems, tokenizeSettings } from './data.js';
import { KINDS } from './kinds.js';
import { sequenceSums } from './reference-cache.js';
import { rowGroupsFor } from './segments.js';
import { createLoss } from '../../losses/index.js';

export interface PolicyEvalOptions {
  model: string;
  reference: string;
  data: string;
  /** Evaluate only the held-out split of a training run (same fraction and seed); default: every pair. */
  evalFraction?: number;
  seed?: number;
  beta?: number;
  maxLength?: number;
  maxPromptLength?: number;
  limit?: number;
  onBadRow?: 'error' | 'skip';
  threads?: number;
  /** Provider and adapter of the two log-prob passes (default: the CPU). */
  session?: SessionOptions;
}

export interface PolicyEvalResult {
  pairs: number;
  /** Share of pairs whose implicit reward prefers the chosen response (ties count half). */
  rewardAccuracy: number;
  /** Mean beta * (h_w - h_l). */
  rewardMargin: number;
  /** Mean sequence log-ratio log pi - log pi_ref over both responses (nats per sequence). */
  kl: number;
  /** The same per response token. */
  klPerToken: number;
  skipped: number;
  beta: number;
}

export async function evaluatePolicy(opts: PolicyEvalOptions): Promise<PolicyEvalResult> {
  const beta = opts.beta ?? 0.1;
  const policy = await loadModelDir(opts.model);
  const reference = await loadModelDir(opts.reference);
  const loaded = await loadPreferenceData(opts.data, { kind: 'paired', onBadRow: opts.onBadRow ?? 'error', limit: opts.limit, dropTies: true });
  const examples: PairedExample[] = opts.evalFraction === undefined ? loaded.examples : splitTrainEval(loaded.examples, { evalFraction: opts.evalFraction, seed: opts.seed ?? 0 }).eval;
  if (examples.length === 0) throw fail('ALIGNKIT_ERR_DATASET_SCHEMA', `${opts.data} has no held-out pairs to evaluate`, { file: opts.data });
  const settings = tokenizeSettings({ maxLength: opts.maxLength ?? 128, maxPromptLength: opts.maxPromptLength ?? 64, maxCompletionLength: undefined }, policy.tokenizer, KINDS.dpo);
  const { items } = tokenizeItems(examples, policy.tokenizer, settings);
  const groups = rowGroupsFor(createLoss('dpo'), 'causal-lm');
  const session = { intraOpThreads: opts.threads ?? 2, ...opts.session };
  const pad = policy.tokenizer.padTokenId;
  const [pw, pl] = await sequenceSums(policy.onnxFile, items, groups, pad, { session });
  const [rw, rl] = await sequenceSums(reference.onnxFile, items, groups, pad, { session });
  let correct = 0;
  let margin = 0;
  let kl = 0;
  let tokens = 0;
  items.forEach((it, i) => {
    const hw = pw![i]! - rw![i]!;
    const hl = pl![i]! - rl![i]!;
    correct += hw > hl ? 1 : hw === hl ? 0.5 : 0;
    margin += beta * (hw - hl);
    kl += (hw + hl) / 2;
    tokens += (it.responses[0]!.length + it.responses[1]!.length) / 2;
  });
  const n = items.length;
  return { pairs: n, rewardAccuracy: correct / n, rewardMargin: margin / n, kl: kl / n, klPerToken: kl / tokens, skipped: loaded.skipped.length, beta };
}
