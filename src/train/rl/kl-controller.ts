// The KL coefficient of PPO's reward penalty: fixed, or adaptive as in "Fine-Tuning Language
// Models from Human Preferences" (Ziegler et al. 2019, Sec. 2.2; OpenRLHF AdaptiveKLController,
// TRL's early PPOTrainer): after each rollout batch, with e = clip(KL / target - 1, -0.2, 0.2),
// beta <- beta * (1 + e * n / horizon), n the batch's number of responses. Its one number of state
// goes into checkpoints.

export interface KlControl {
  readonly value: number;
  /** After a rollout batch: its measured mean sequence KL and number of responses. */
  update(kl: number, responses: number): void;
  state(): number;
  restore(value: number): void;
}

export function fixedKl(coef: number): KlControl {
  let value = coef;
  return {
    get value() {
      return value;
    },
    update: () => undefined,
    state: () => value,
    restore: (v) => void (value = v),
  };
}

export function adaptiveKl(initial: number, target: number, horizon: number): KlControl {
  let value = initial;
  return {
    get value() {
      return value;
    },
    update(kl, responses) {
      const error = Math.min(0.2, Math.max(-0.2, kl / target - 1));
      value *= 1 + (error * responses) / horizon;
    },
    state: () => value,
    restore: (v) => void (value = v),
  };
}
