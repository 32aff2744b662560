// The online kinds' experience stages (src/train/run/stages.ts `experience`): each turns what a
// rollout batch holds into what the next stage or the loss reads, in registry order.
//   kl-reference      per-token log-probs of the frozen reference; the measured KL
//   kl-penalty        -klCoef * KL_t folded into the reward (fixed or adaptive coefficient)
//   value head        the loss reads values: a value head on the policy's backbone, its rollout-time estimates
//   critic            --critic DIR: a separate critic's rollout-time estimates; it trains after the policy (critic.ts)
//   reward            the run's reward (a model, an ensemble, a remote server, a JS function); the gold reward
//   dpo token reward  the loss reads RTO's dense reward: beta_1 log(pi_dpo / pi_ref) per token, clipped
//   gae               the loss reads token advantages: GAE over the token rewards, whitened
//   group / leave-one-out   GRPO's and RLOO's sequence advantages from the scores of each prompt's group

import { fail } from '../../errors.js';
import { addTokenMaskHead } from '../../graph/rewrites/index.js';
import { assertSameTokenizer, encodePrompt } from '../../generate/index.js';
import { RlInputs } from '../../losses/index.js';
import { loadModelDir, type Text } from '../../models/index.js';
import { ReferenceLogProbs } from '../reference.js';
import { KIND_STAGES, kindStage, readsAny, type ForwardExtension, type RunContext, type RunStage } from '../run/stages.js';
import { explainedVariance, gae, groupAdvantages, klPenalty, leaveOneOut, tokenRewards, whiten } from './advantages.js';
import type { Experience, ExperienceStep, Rollout } from './experience.js';
import { adaptiveKl, fixedKl } from './kl-controller.js';
import { loadReward } from './rewards.js';
import { RunningMoments, type RunningMomentsState } from './running-moments.js';
import { criticStage } from './critic.js';
import { frozenLogps, liveValues } from './per-response.js';

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : NaN);
const sum = (xs: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s;
};
const std = (xs: readonly number[]) => {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
};
const rl = (ctx: RunContext) => ctx.config.rl!;

/** A frozen causal LM over the policy's token ids: refused unless it shares the policy's tokenizer. */
async function frozenModel(ctx: RunContext, dir: string, role: string): Promise<ReferenceLogProbs> {
  const other = await loadModelDir(dir);
  assertSameTokenizer(ctx.dir.tokenizer, other.tokenizer, `${role} ${dir}`, 'its log-probabilities are read at the policy\'s token ids', role);
  return ReferenceLogProbs.create(other.onnxFile, { session: ctx.session });
}

/** The measured KL of a batch: mean over responses of sum_t (log pi_old - log pi_ref) (k1, what best-of-n's bound and PPO's controller compare to). */
function sequenceKl(rows: readonly Rollout[]): number {
  return mean(rows.map((r) => sum(r.oldLogps) - sum(r.refLogps!)));
}

export const klReferenceStage: RunStage = {
  name: KIND_STAGES.klReference,
  appliesTo: (d) => kindStage(KIND_STAGES.klReference)(d) || readsAny([RlInputs.refLogps])(d),
  async experience(ctx) {
    const ref = await frozenModel(ctx, rl(ctx).reference ?? ctx.config.model, 'rl.reference');
    const pad = ctx.dir.tokenizer.padTokenId;
    return {
      async run(exp) {
        (await frozenLogps(ref, exp.rows, pad)).forEach((lp, i) => (exp.rows[i]!.refLogps = lp));
        exp.metrics.kl = sequenceKl(exp.rows);
      },
      release: () => ref.release(),
    };
  },
};

export const klPenaltyStage: RunStage = {
  name: KIND_STAGES.klPenalty,
  appliesTo: kindStage(KIND_STAGES.klPenalty),
  async experience(ctx) {
    const s = rl(ctx);
    const control = s.klTarget !== undefined ? adaptiveKl(s.klCoef, s.klTarget, s.klHorizon) : fixedKl(s.klCoef);
    return {
      async run(exp) {
        for (const r of exp.rows) {
          if (!r.refLogps) throw fail('ALIGNKIT_ERR_INTERNAL', 'the KL penalty needs the reference log-probs of the kl-reference stage', { field: 'rl.reference' });
          r.klPenalty = klPenalty(r.oldLogps, r.refLogps, s.klEstimator, control.value);
        }
        if (!exp.evaluation) exp.metrics.kl_coef = control.value;
      },
      // Ziegler et al.'s controller moves the coefficient after each batch, toward the target KL.
      after: (exp) => control.update(exp.metrics.kl!, exp.rows.length),
      state: () => control.state(),
      restore: (v) => control.restore(v as number),
    };
  },
};

const VALUE_OUTPUT = 'values';

/** A value head on the policy's final hidden states (a linear layer, zero at the start), trained with the policy and left out of the export. */
export const valueHeadForward: ForwardExtension = (policy) => {
  const head = addTokenMaskHead(policy, { heads: [VALUE_OUTPUT], startLogit: 0, name: 'value_head' });
  const values = head.outputs[VALUE_OUTPUT]!;
  // An output of the forward, so the rollout-time forward can fetch it (the training graph hides it).
  head.model.graph.outputs.push({ name: values, dtype: 'float32' });
  return {
    forward: head.model,
    model: head.model,
    provide(g, { groups, rows }) {
      const i = groups.findIndex((gr) => gr.policy === RlInputs.policy);
      return { provided: { [RlInputs.values]: g.slice(values, [i * rows], [(i + 1) * rows], [0]) }, fed: [] };
    },
    headOutputs: [values],
    auxiliary: head.trainable,
    frozen: [],
  };
};

export const valueHeadStage: RunStage = {
  name: 'value-head',
  appliesTo: readsAny([RlInputs.values]),
  forward: () => valueHeadForward,
  // The policy forward with the value head.
  experience: (ctx, live) => liveValues(ctx, live.graph.forward, VALUE_OUTPUT, () => live.trainer.values()),
};

export const rewardStage: RunStage = {
  name: KIND_STAGES.reward,
  appliesTo: kindStage(KIND_STAGES.reward),
  async experience(ctx) {
    const s = rl(ctx);
    const tok = ctx.dir.tokenizer;
    const render = (p: Text) => (typeof p === 'string' ? p : tok.decode(encodePrompt(tok, p), { skipSpecialTokens: false }));
    const reward = await loadReward(s.reward, { method: s.combine, lambda: s.lambda }, { render });
    const gold = s.gold.length > 0 ? await loadReward(s.gold, { method: 'mean', lambda: 0 }, { render }, 'gold') : undefined;
    const items = (exp: Experience) => exp.rows.map((r) => ({ prompt: ctx.data.items[r.promptIndex]!.promptText!, response: r.text }));
    const normalize = s.normalizeScores ?? (s.critic === undefined && ctx.loss.inputs.some((i) => i.name === RlInputs.tokenAdvantages));
    const moments = normalize ? new RunningMoments() : undefined;
    return {
      async run(exp) {
        const scored = await reward.scoreDetailed(items(exp), { truncate: true });
        const scores = exp.rows.map((r, i) => scored.rewards[i]! - (r.ended ? 0 : s.missingEosPenalty));
        // Held-out evaluations are measured, not learnt from: they leave the running moments alone.
        if (moments && !exp.evaluation) moments.update(scores);
        exp.rows.forEach((r, i) => (r.score = moments ? moments.normalize(scores[i]!) : scores[i]!));
        Object.assign(exp.metrics, { 'reward/mean': mean(scores), 'reward/std': std(scores) });
        if (scored.members.length > 1) exp.metrics['reward/variance'] = mean(scored.variance);
        if (gold) {
          // The spread too: a held-out evaluation's standard error is gold/std / sqrt(prompts).
          const golds = (await gold.scoreDetailed(items(exp), { truncate: true })).rewards;
          Object.assign(exp.metrics, { 'gold/reward': mean(golds), 'gold/std': std(golds) });
        }
      },
      state: () => moments?.state(),
      restore: (v) => v && moments?.restore(v as RunningMomentsState),
    };
  },
};

export const dpoTokenRewardStage: RunStage = {
  name: 'dpo-token-reward',
  appliesTo: readsAny([RlInputs.dpoTokenRewards]),
  async experience(ctx) {
    const s = rl(ctx);
    if (!s.dpoModel) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `loss ${ctx.loss.name} reads RTO's DPO token reward: give the DPO policy with --dpo DIR (run config rl.dpoModel)`, { field: 'rl.dpoModel' });
    const dpo = await frozenModel(ctx, s.dpoModel, 'rl.dpoModel');
    const base = await frozenModel(ctx, s.dpoReference ?? s.reference ?? ctx.config.model, 'rl.dpoReference');
    // The official RTO code (github.com/zkshan2002/RTO at f2c12948, openrlhf/trainer/ppo_utils/experience_maker.py
    // _compute_dpo_rewards): (log pi_dpo - log pi_base) * scale, then clamped to +-clip when clip > 0; compute_reward
    // adds it to the KL penalty and the sentence reward placed at the last token, as gae's tokenRewards does.
    const scale = ctx.loss.hp.dpoRewardScale as number;
    const clip = ctx.loss.hp.dpoRewardClip as number;
    const pad = ctx.dir.tokenizer.padTokenId;
    return {
      async run(exp) {
        const [lp, ref] = [await frozenLogps(dpo, exp.rows, pad), await frozenLogps(base, exp.rows, pad)];
        exp.rows.forEach((r, i) => {
          r.dense = lp[i]!.map((x, t) => {
            const v = scale * (x - ref[i]![t]!);
            return clip > 0 ? Math.min(clip, Math.max(-clip, v)) : v;
          });
        });
        exp.metrics['reward/dpo_token_sum'] = mean(exp.rows.map((r) => sum(r.dense!)));
      },
      release: async () => {
        await dpo.release();
        await base.release();
      },
    };
  },
};

/** RLHF reward of a response: its score plus the KL penalty summed over its tokens (TRL's rlhf_reward). */
const rlhfReward = (r: Rollout) => r.score! + (r.klPenalty ? sum(r.klPenalty) : 0);

export const gaeStage: RunStage = {
  name: 'gae',
  appliesTo: readsAny([RlInputs.tokenAdvantages]),
  async experience(ctx) {
    const s = rl(ctx);
    return {
      async run(exp) {
        if (exp.evaluation) return;
        const results = exp.rows.map((r) => gae(tokenRewards(r.score!, r.tokens.length, { penalty: r.klPenalty, dense: r.dense, scoreClip: s.scoreClip }), r.oldValues!, s.gamma, s.gaeLambda));
        const advantages = s.whitenAdvantages ? whiten(results.map((x) => x.advantages)) : results.map((x) => x.advantages);
        exp.rows.forEach((r, i) => {
          r.tokenAdvantages = advantages[i]!;
          r.returns = results[i]!.returns;
        });
        exp.metrics['reward/rlhf'] = mean(exp.rows.map(rlhfReward));
        exp.metrics['val/explained_variance'] = explainedVariance(exp.rows.map((r) => r.oldValues!), exp.rows.map((r) => r.returns!));
      },
    };
  },
};

function sequenceAdvantageStage(name: string, advantages: (rewards: number[], k: number, ctx: RunContext) => number[]): RunStage {
  return {
    name,
    appliesTo: kindStage(name),
    async experience(ctx) {
      return {
        async run(exp) {
          if (exp.evaluation) return;
          const rewards = exp.rows.map(rlhfReward);
          advantages(rewards, exp.samplesPerPrompt, ctx).forEach((a, i) => (exp.rows[i]!.sequenceAdvantage = a));
          exp.metrics['reward/rlhf'] = mean(rewards);
        },
      };
    },
  };
}

export const groupAdvantagesStage = sequenceAdvantageStage(KIND_STAGES.groupAdvantages, (r, k, ctx) => groupAdvantages(r, k, rl(ctx).scaleRewards));
export const leaveOneOutStage = sequenceAdvantageStage(KIND_STAGES.leaveOneOut, (r, k) => leaveOneOut(r, k));

/** The experience stages in the order their steps run on a batch. */
export const EXPERIENCE_STAGES: readonly RunStage[] = [klReferenceStage, klPenaltyStage, valueHeadStage, criticStage, rewardStage, dpoTokenRewardStage, gaeStage, groupAdvantagesStage, leaveOneOutStage];

export type { ExperienceStep };
