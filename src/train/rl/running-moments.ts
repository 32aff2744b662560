// Running mean and standard deviation of the sequence scores, for PPO's score normalisation (TRL's
// PPOConfig use_score_scaling + use_score_norm, with trl.core.RunningMoments, itself Stable
// Baselines3's RunningMeanStd): after each rollout batch the moments take in the batch's scores
// (Chan et al.'s parallel update) and every score becomes (s - mean) / (std + eps).
// Why PPO needs it here: the value head starts at 0 and learns at the policy's learning rate, so for
// many iterations V is far from a reward model's arbitrary offset. GAE then hands the whole score to
// the last token (EOS) and whitening turns its sign into a push on response length: the same
// reward shifted by a constant made PPO lengthen responses where the unshifted one shortened them
// (README "Optimising the gold model"). Normalised scores are the same for any offset.

export interface RunningMomentsState {
  mean: number;
  variance: number;
  count: number;
}

/** float32's epsilon, TRL's guard against a zero std. */
const EPS = 2 ** -23;

export class RunningMoments {
  // TRL's starting point: mean 0, variance 1 and a vanishing count, so the first batch's moments replace it.
  private s: RunningMomentsState = { mean: 0, variance: 1, count: 1e-24 };

  get mean(): number {
    return this.s.mean;
  }

  /** The standard deviation with Bessel's correction over everything seen. */
  get std(): number {
    return Math.sqrt((this.s.variance * this.s.count) / (this.s.count - 1));
  }

  update(xs: readonly number[]): void {
    const n = xs.length;
    if (n === 0) return;
    const m = xs.reduce((a, x) => a + x, 0) / n;
    const v = xs.reduce((a, x) => a + (x - m) ** 2, 0) / n;
    const { mean, variance, count } = this.s;
    const delta = m - mean;
    const total = count + n;
    const sum = variance * count + delta ** 2 * ((count * n) / total) + v * n;
    this.s = { mean: mean + (delta * n) / total, variance: sum / total, count: total };
  }

  normalize(x: number): number {
    return (x - this.mean) / (this.std + EPS);
  }

  state(): RunningMomentsState {
    return { ...this.s };
  }

  restore(s: RunningMomentsState): void {
    this.s = { ...s };
  }
}
