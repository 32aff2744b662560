// The contract every loss satisfies: a typed hyperparameter record with the paper's defaults, a
// validator run at configuration time, a declaration of the graph inputs it reads, and a builder
// that appends its nodes to a GraphBuilder and names its loss, metrics and carried state.

import type { Dim, GraphBuilder, Value } from '../graph/index.js';

/**
 * Who produces an input, which decides what the standalone runner differentiates and what the
 * training loop feeds: `policy` values come from the trained model's forward graph (gradients flow
 * into them), `reference` values from the frozen reference (cached or computed in-graph), `data`
 * values from the batch (masks, labels, margins), `state` values are carried across steps.
 */
export type InputSide = 'policy' | 'reference' | 'data' | 'state';

export interface LossInputSpec {
  name: string;
  /** 'B' (batch), 'T' (response tokens), 'D' (embedding width) and 'A' (attributes) are symbolic. */
  dims: Dim[];
  side: InputSide;
  doc: string;
  /** For `state` inputs: the value before the first step. */
  initial?: number;
}

/** What a loss builder returns: value names inside the builder's graph. */
export interface LossGraph {
  loss: Value;
  /** Scalars named like TRL's logs (`rewards/chosen`, `rewards/margins`, ...). */
  metrics: Record<string, Value>;
  /** For each `state` input, the value to feed it on the next step. */
  state?: Record<string, Value>;
}

export interface LossDefinition<H extends object> {
  name: string;
  /** One line, with the paper. */
  summary: string;
  defaults: H;
  /** Throws ALIGNKIT_ERR_INVALID_ARGUMENT naming the hyperparameter; `hp` already has defaults merged. */
  validate(hp: H): void;
  inputs(hp: H): LossInputSpec[];
  build(g: GraphBuilder, inputs: Record<string, Value>, hp: H): LossGraph;
}

/** A loss with its hyperparameters fixed and validated: what the training loop splices. */
export interface ConfiguredLoss {
  name: string;
  hp: Readonly<Record<string, unknown>>;
  inputs: LossInputSpec[];
  /** Append the loss to `g`; `inputs` maps declared input names to values already in `g`. */
  build(g: GraphBuilder, inputs: Record<string, Value>): LossGraph;
}

/** How per-token log-probs become one number per response. */
export type Reduction = 'sum' | 'mean';

/** MM-RLHF dynamic reward scaling, shared by every paired loss (see dynamic-beta.ts). */
export interface DynamicBetaHp {
  /** Off when undefined; otherwise beta_i = beta * (1 + w (1 - exp(-k * margin_i))). */
  dynamicBeta?: { w: number; k: number };
}
