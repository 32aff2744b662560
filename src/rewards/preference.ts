// Bradley-Terry preference probability from two rewards: P(a preferred to b) = sigmoid(r_a - r_b),
// the model a reward model is trained under (InstructGPT eq. 1; TRL's RewardTrainer loss is
// -log sigmoid(r_chosen - r_rejected)).

/** Numerically stable logistic sigmoid: never exponentiates a large positive number. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export function preferenceProbability(rewardA: number, rewardB: number): number {
  return sigmoid(rewardA - rewardB);
}
