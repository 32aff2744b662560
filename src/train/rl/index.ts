// Public names of the online RL pieces behind `alignkit train ppo|rto|grpo|rloo`: advantage
// estimators and KL control, reward sources (local, ensemble, remote OpenRLHF, JS function), the
// rollout experience and its stages, and a separate PPO critic.
export { KL_ESTIMATORS, perTokenKl, klPenalty, tokenRewards, gae, whiten, groupAdvantages, leaveOneOut, explainedVariance, type KlEstimator } from './advantages.js';
export { adaptiveKl, fixedKl, type KlControl } from './kl-controller.js';
export { remoteReward, type RemoteQuery, type RemoteRewardOptions } from './remote-reward.js';
export { loadReward, loadRewardSpec, REWARD_SPEC_KINDS, type RewardFunction, type RewardSpecContext } from './rewards.js';
export { RL_DEFAULTS, checkRlSettings, type RlSettings } from './settings.js';
export { experienceBatch, rolloutItems, type Experience, type ExperienceStep, type LiveRun, type Rollout } from './experience.js';
export { rolloutsStage } from './source.js';
export { EXPERIENCE_STAGES, valueHeadForward } from './stages.js';
export { criticStage, loadCritic, buildCriticGraph, criticLoss, CRITIC_LR_RATIO, type CriticForward, type CriticGraph } from './critic.js';
