// A run is a list of stages (STYLE.md point 12): each stage is a small object with hooks on the
// run's phases, and the one loop in run.ts calls the hooks of the run's stages phase by phase, in
// the order of the stage list, the way fastify runs its plugins' hooks. The loop never names a
// loss or a kind: a kind declares its stages by name (KindSpec.stages), and a loss brings its own
// by what it reads (its declared inputs select them: SRPO's revision rows, BCO's UDM weights, a
// token-level loss's in-graph reference, a regression loss's attribute heads). A new run kind adds
// stages, not branches.
//
// Phases, in order (online kinds add `experience`: each rollout batch goes through every stage's
// step before the update):
//   prepare    load and shape the run's examples (tokenize, revision layout, UDM weights)
//   reference  the reference pass over the examples (cached log-prob sums)
//   model      rewrite or check the forward model (reward head, attribute heads, pair template)
//   forward    extend the training forward (frozen reference branch, value head): ForwardExtension
//   source     the update source: what each iteration trains on (dataset batches, or rollouts
//              scored by a reward and a reference, with their advantages): UpdateSource
//   export     after the Hugging Face export (head configs, labels)

import type { Feed, Model, SessionOptions, Tensor } from '../../graph/index.js';
import type { ScheduleSpec } from '../../optim/index.js';
import type { ConfiguredLoss, LossInputSpec } from '../../losses/index.js';
import type { ModelDir } from '../../models/index.js';
import type { RunConfig } from './config.js';
import type { RunData } from './data.js';
import type { KindSpec } from './kinds.js';
import type { ReferenceResult } from './reference-cache.js';
import type { RowGroup } from './segments.js';
import type { GraphBuilder, Value } from '../../graph/index.js';
import type { UdmResult } from './udm-weights.js';
import type { RunTrainer } from '../device/run-trainer.js';
import type { RunGraph } from './graph.js';
import type { ExperienceStep, LiveRun } from '../rl/experience.js';

/** What stages report in the run's result besides the loop's own numbers. */
export interface RunExtras {
  /** BCO's UDM classifier and weights. */
  udm?: UdmResult;
  /** A separate PPO critic (src/train/rl/critic.ts): its directory and trained values by initializer name. */
  critic?: { dir: string; values: Map<string, Float32Array> };
}

export interface RunContext {
  readonly config: RunConfig;
  readonly spec: KindSpec;
  readonly dir: ModelDir;
  readonly loss: ConfiguredLoss;
  /** The loss's row groups (segments.ts). */
  readonly groups: RowGroup[];
  readonly session: SessionOptions;
  /** The run's examples: set by the prepare phase. */
  data: RunData;
  /** Cached reference sums (empty unless a reference stage ran). */
  reference: ReferenceResult;
  /** What else the reference sums depend on, added to their cache key by the stages that shape the rows (SRPO's template). */
  readonly referenceKey: Record<string, unknown>;
  /** Metrics logged once at step 0 of a fresh run. */
  readonly startMetrics: Record<string, number>;
  /** Lines printed on the progress stream before the first step. */
  readonly notes: string[];
  readonly extras: RunExtras;
  /** The run's stages, in order (an update source runs their per-iteration hooks). */
  readonly stages: readonly RunStage[];
}

/** The training forward as a forward extension leaves it. */
export interface ExtendedForward {
  /** The trainer's source of starting values: the policy with any trained auxiliary heads. */
  forward: Model;
  /** The graph the loss is spliced onto (may hold frozen branches and extra heads). */
  model: Model;
  /** Its [N, T] per-token log-probs of the policy, when the extension provides them (else the run adds the log-prob head). */
  policy?: string;
  /** Loss inputs computed in the graph: each cut from the rows of a group. */
  provide(g: GraphBuilder, opts: { loss: ConfiguredLoss; groups: readonly RowGroup[]; rows: number }): { provided: Record<string, Value>; fed: LossInputSpec[] };
  /** Graph outputs the extension declared that are not outputs of the training graph. */
  headOutputs: string[];
  /** Trained initializers that are not part of the exported model (a learned mask or value head). */
  auxiliary: string[];
  /** Initializers of a frozen branch: constants of the training graph. */
  frozen: string[];
}

/** A stage's change to the training forward. `policy` is the run's forward (KV stripped, LoRA injected); `reference` the stripped model before LoRA. */
export type ForwardExtension = (policy: Model, reference: Model, loss: ConfiguredLoss) => ExtendedForward;

/** One optimizer step's micro-batches, built when the step runs (the loss state is the step's). */
export interface PlannedStep {
  build(state: Readonly<Record<string, number>>): { feeds: Record<string, Feed>; tokens: number }[];
  /** Example ids of the step, named when its loss turns non-finite. */
  ids: string[];
}

/** What one iteration of the loop trains on: one optimizer step for offline kinds, several (PPO epochs x minibatches) per rollout batch for online ones. */
export interface IterationPlan {
  steps: PlannedStep[];
  /** Examples the iteration trained on (the rate in metrics). */
  examples: number;
  /** Measured before the update (rewards, KL, response length, ...): logged with the iteration. */
  metrics: Record<string, number>;
}

/** Examples per split, for the card. */
export interface SourceCounts {
  train: number;
  eval: number;
}

export interface UpdateSource {
  /** Iterations in one pass over the training split (the run's length when it is given in epochs). */
  readonly iterationsPerEpoch: number;
  /** Optimizer steps per iteration (the learning-rate schedule's length is iterations x this). */
  readonly stepsPerIteration: number;
  readonly counts: SourceCounts;
  /** Called after the trainer exists (an online source decodes with the trainer's live parameters); `schedule` is the optimizer's. */
  bind?(trainer: RunTrainer, graph: RunGraph, schedule: ScheduleSpec): Promise<void>;
  next(iteration: number): Promise<IterationPlan>;
  /** After the iteration's steps, with their step-averaged metrics (PPO's adaptive KL reads the measured KL; a separate critic trains and adds its own). */
  after?(iteration: number, metrics: Record<string, number>): void | Promise<void>;
  /** Whether evaluation also runs before the first step (logged at step 0) when the run evaluates periodically. */
  readonly evaluatesAtStart?: boolean;
  /** Held-out metrics (names prefixed `eval/`), or undefined when there is no held-out split. */
  evaluate(trainer: RunTrainer, state: Readonly<Record<string, number>>): Promise<Record<string, number> | undefined>;
  /** Fractional epochs done. */
  epochs(): number;
  /** JSON-serialisable position: a resumed run continues exactly where the checkpoint was taken. */
  position(): unknown;
  restore(position: unknown): void;
  /** Tensors of trained state besides the trainer's (a separate critic's), saved in the checkpoint. */
  tensors?(): Map<string, Tensor>;
  restoreTensors?(t: Map<string, Tensor>): void;
  release?(): Promise<void>;
}

/** What decides whether a stage takes part: the kind's declared stage names, the loss's inputs, the config. */
export interface StageDeclaration {
  spec: KindSpec;
  loss: ConfiguredLoss;
  groups: readonly RowGroup[];
  config: RunConfig;
}

export interface RunStage {
  name: string;
  /**
   * Whether a run of this declaration includes the stage. Kind stages answer from
   * `spec.stages`; loss stages from the loss's inputs; never from a loss's or a kind's name.
   */
  appliesTo(d: StageDeclaration): boolean;
  prepare?(ctx: RunContext): void | Promise<void>;
  reference?(ctx: RunContext): Promise<void>;
  model?(ctx: RunContext, model: Model): Model;
  forward?(ctx: RunContext): ForwardExtension;
  source?(ctx: RunContext): UpdateSource | Promise<UpdateSource>;
  /**
   * Online kinds: this stage's work on every rollout batch (reference log-probs, rewards,
   * advantages...), created once the trainer exists; the update source runs the steps in stage order.
   */
  experience?(ctx: RunContext, live: LiveRun): Promise<ExperienceStep>;
  export?(ctx: RunContext, outDir: string): void | Promise<void>;
}

/** Names of the stages a kind lists in KindSpec.stages (loss stages are chosen by the loss's inputs and need no name here). */
export const KIND_STAGES = {
  /** Offline kinds: the dataset's examples, one optimizer step per batch (offline.ts). */
  dataset: 'dataset',
  /** Reward models: the scorer's special tokens around prompt and response (pair-template.ts). */
  pairTemplate: 'pair-template',
  /** Online kinds: prompts, and rollouts sampled from the live policy each iteration (src/train/rl/source.ts). */
  rollouts: 'rollouts',
  /** Online kinds: rollouts scored by the run's reward (src/train/rl/reward-stage.ts). */
  reward: 'reward',
  /** The reference's per-token log-probs of each rollout, and the measured KL. */
  klReference: 'kl-reference',
  /** The KL penalty folded into the reward (PPO, RTO, RLOO). */
  klPenalty: 'kl-penalty',
  /** GRPO's group-normalised advantages. */
  groupAdvantages: 'group-advantages',
  /** RLOO's leave-one-out advantages. */
  leaveOneOut: 'leave-one-out',
} as const;

/** A kind stage: included when the kind lists its name. */
export const kindStage = (name: string) => (d: StageDeclaration) => d.spec.stages.includes(name);

/** A loss stage: included when the loss reads one of `inputs`. */
export const readsAny = (inputs: readonly string[]) => (d: StageDeclaration) => d.loss.inputs.some((s) => inputs.includes(s.name));
