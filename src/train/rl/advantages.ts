// What an online run computes from a scored rollout before the update, in plain TypeScript over
// per-response arrays (one value per response token; no padding): the per-token KL penalty, the
// token rewards PPO sees, GAE, whitening, and the group baselines of GRPO and RLOO. Each function
// follows one reference implementation, named in its comment, and is checked against hand-worked
// values in test/train/rl/advantages.test.ts.

import { fail } from '../../errors.js';

/** Schulman's KL estimators ("Approximating KL Divergence", 2020) of KL(pi || pi_ref) from log-ratio samples. */
export const KL_ESTIMATORS = {
  /** log pi - log pi_ref: unbiased, can be negative per token (TRL's default "k1"; OpenRLHF's compute_approx_kl). */
  k1: (lp: number, ref: number) => lp - ref,
  /** (r - 1) - log r with r = pi_ref / pi: unbiased and never negative (TRL's "k3", GRPO's Eq. 4). */
  k3: (lp: number, ref: number) => Math.expm1(ref - lp) - (ref - lp),
} as const;

export type KlEstimator = keyof typeof KL_ESTIMATORS;

export function perTokenKl(logps: ArrayLike<number>, refLogps: ArrayLike<number>, estimator: KlEstimator): Float32Array {
  const f = KL_ESTIMATORS[estimator];
  return Float32Array.from({ length: logps.length }, (_, t) => f(logps[t]!, refLogps[t]!));
}

/**
 * PPO's per-token rewards (Ziegler et al. 2019; TRL PPOTrainer, OpenRLHF compute_reward) over a
 * response of T tokens: the KL penalty (already -klCoef * kl_t) at every token, the sequence score
 * added at the last token, plus any dense token reward (RTO). OpenRLHF clamps the score to
 * [-clip, clip] (clip 10); 0 leaves it as is.
 */
export function tokenRewards(score: number, T: number, opts: { penalty?: ArrayLike<number>; dense?: ArrayLike<number>; scoreClip?: number } = {}): Float32Array {
  if (T === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'a response needs at least one token to carry its reward', { field: 'response' });
  const clip = opts.scoreClip ?? 0;
  const s = clip > 0 ? Math.min(clip, Math.max(-clip, score)) : score;
  const out = Float32Array.from({ length: T }, (_, t) => (opts.penalty ? opts.penalty[t]! : 0) + (opts.dense ? opts.dense[t]! : 0));
  out[T - 1]! += s;
  return out;
}

/** -coef * kl_t per token: the penalty PPO and RLOO fold into the reward. */
export function klPenalty(logps: ArrayLike<number>, refLogps: ArrayLike<number>, estimator: KlEstimator, coef: number): Float32Array {
  return perTokenKl(logps, refLogps, estimator).map((k) => -coef * k);
}

/**
 * Generalized advantage estimation ("High-Dimensional Continuous Control Using GAE", Schulman et
 * al. 2016), over one response as OpenRLHF's get_advantages_and_returns computes it: the value
 * after the last token is 0, delta_t = r_t + gamma V_{t+1} - V_t, A_t = delta_t + gamma lambda A_{t+1},
 * returns R_t = A_t + V_t.
 */
export function gae(rewards: ArrayLike<number>, values: ArrayLike<number>, gamma: number, lambda: number): { advantages: Float32Array; returns: Float32Array } {
  const T = rewards.length;
  if (values.length !== T) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `GAE needs one value per reward, got ${values.length} values for ${T} rewards`, { field: 'values' });
  const advantages = new Float32Array(T);
  let next = 0;
  for (let t = T - 1; t >= 0; t--) {
    const nextValue = t + 1 < T ? values[t + 1]! : 0;
    const delta = rewards[t]! + gamma * nextValue - values[t]!;
    next = delta + gamma * lambda * next;
    advantages[t] = next;
  }
  return { advantages, returns: Float32Array.from(advantages, (a, t) => a + values[t]!) };
}

/**
 * Whitening over every token of the batch, as TRL's masked_whiten: (x - mean) / sqrt(var + 1e-8)
 * with the unbiased (n - 1) variance; `shiftMean` false adds the mean back (TRL whitens rewards that way).
 */
export function whiten(rows: readonly Float32Array[], shiftMean = true): Float32Array[] {
  let n = 0;
  let sum = 0;
  for (const r of rows) {
    n += r.length;
    for (const x of r) sum += x;
  }
  if (n < 2) return rows.map((r) => Float32Array.from(r));
  const m = sum / n;
  let sq = 0;
  for (const r of rows) for (const x of r) sq += (x - m) ** 2;
  const inv = 1 / Math.sqrt(sq / (n - 1) + 1e-8);
  return rows.map((r) => Float32Array.from(r, (x) => (x - m) * inv + (shiftMean ? 0 : m)));
}

function checkGroups(rewards: readonly number[], size: number, what: string): void {
  if (!Number.isInteger(size) || size < 2 || rewards.length % size !== 0)
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `${what} needs groups of at least 2 responses per prompt, consecutive; got ${rewards.length} rewards in groups of ${size}`, { field: 'samplesPerPrompt', value: size });
}

/**
 * GRPO's advantages (Shao et al. 2024, outcome supervision; TRL GRPOTrainer): each response's reward
 * minus its group's mean, divided by the group's standard deviation (torch's unbiased std) + 1e-4
 * unless `scale` is false (Dr. GRPO's and TRL's scale_rewards=False). Groups are consecutive.
 */
export function groupAdvantages(rewards: readonly number[], groupSize: number, scale = true): number[] {
  checkGroups(rewards, groupSize, 'GRPO');
  const out: number[] = [];
  for (let g = 0; g < rewards.length; g += groupSize) {
    const group = rewards.slice(g, g + groupSize);
    const m = group.reduce((a, x) => a + x, 0) / groupSize;
    const std = Math.sqrt(group.reduce((a, x) => a + (x - m) ** 2, 0) / (groupSize - 1));
    for (const x of group) out.push(scale ? (x - m) / (std + 1e-4) : x - m);
  }
  return out;
}

/**
 * RLOO's advantages (Ahmadian et al. 2024, Eq. 7; TRL RLOOTrainer): each response's reward minus
 * the mean reward of the other k - 1 responses to the same prompt. Groups are consecutive.
 */
export function leaveOneOut(rewards: readonly number[], k: number): number[] {
  checkGroups(rewards, k, 'RLOO');
  const out: number[] = [];
  for (let g = 0; g < rewards.length; g += k) {
    const group = rewards.slice(g, g + k);
    const total = group.reduce((a, x) => a + x, 0);
    for (const x of group) out.push(x - (total - x) / (k - 1));
  }
  return out;
}

/** TRL's explained variance of the value head: 1 - Var(returns - values) / Var(returns), over every token. */
export function explainedVariance(values: readonly Float32Array[], returns: readonly Float32Array[]): number {
  const diff: number[] = [];
  const ret: number[] = [];
  values.forEach((v, i) => v.forEach((x, t) => (diff.push(returns[i]![t]! - x), ret.push(returns[i]![t]!))));
  const variance = (xs: number[]) => {
    const m = xs.reduce((a, x) => a + x, 0) / xs.length;
    return xs.reduce((a, x) => a + (x - m) ** 2, 0) / xs.length;
  };
  const vr = variance(ret);
  return vr > 0 ? 1 - variance(diff) / vr : NaN;
}
