// Small worked rollout batches of the online losses (B responses, T = 3 token slots, padding in
// some rows), shared by the hand-worked values in policy-gradient.test.ts and the finite-difference
// table in gradients.test.ts.
import { arraysOf } from './reference.js';

/** PPO / RTO: two responses of 3 and 2 tokens. */
export const PPO_ROLLOUT = {
  response_logps: [[-1.0, -0.5, -2.0], [-0.3, -1.2, 0]],
  old_logps: [[-1.1, -0.2, -2.0], [-0.6, -1.0, 0]],
  response_mask: [[1, 1, 1], [1, 1, 0]],
  token_advantages: [[1.0, -0.5, 2.0], [-1.0, 0.5, 0]],
  values: [[0.5, 0.2, -0.1], [1.0, 0.3, 0]],
  old_values: [[0.4, 0.5, -0.1], [0.7, 0.35, 0]],
  returns: [[1.0, 0.0, 0.3], [0.2, 0.6, 0]],
};

/** GRPO: one group of four responses. */
export const GRPO_ROLLOUT = {
  response_logps: [[-1.0, -0.5, -2.0], [-0.3, -1.2, 0], [-0.8, -0.4, -0.6], [-2.0, -0.1, 0]],
  old_logps: [[-1.1, -0.2, -2.0], [-0.6, -1.0, 0], [-0.8, -0.5, -0.6], [-2.3, -0.1, 0]],
  response_mask: [[1, 1, 1], [1, 1, 0], [1, 1, 1], [1, 1, 0]],
  ref_logps: [[-1.2, -0.4, -1.5], [-0.5, -1.0, 0], [-0.7, -0.6, -0.9], [-1.8, -0.3, 0]],
  sequence_advantages: [0.5, -1.0, 1.5, -0.2],
};

/** RLOO: the same responses, row 0's sequence ratio past the clip bound. */
export const RLOO_ROLLOUT = {
  response_logps: GRPO_ROLLOUT.response_logps,
  old_logps: [[-1.2, -0.7, -2.0], [-0.6, -1.0, 0], [-0.8, -0.5, -0.6], [-1.95, -0.1, 0]],
  response_mask: GRPO_ROLLOUT.response_mask,
  sequence_advantages: GRPO_ROLLOUT.sequence_advantages,
};

export const ppoBatch = arraysOf(PPO_ROLLOUT);
const { values: _v, old_values: _ov, returns: _r, ...PPO_POLICY } = PPO_ROLLOUT;
/** PPO with a separate critic (valueModel critic): the policy's inputs alone; the critic's value loss reads the rest. */
export const ppoPolicyBatch = arraysOf(PPO_POLICY);
export const rtoBatch = arraysOf({ ...PPO_ROLLOUT, dpo_token_rewards: [[0.05, -0.02, 0.01], [0.03, 0.04, 0]] });
export const grpoBatch = arraysOf(GRPO_ROLLOUT);
export const rlooBatch = arraysOf(RLOO_ROLLOUT);
