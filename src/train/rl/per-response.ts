// Per-response values of a forward over rollouts: a frozen model's token log-probs (reference, DPO
// policy) and the rollout-time value estimates of a trained value function (the policy's value head,
// a separate critic), each laid out per response token.

import { Session, type Model, type Tensor } from '../../graph/index.js';
import { initializersAsInputs } from '../../generate/index.js';
import { tokenFeeds } from '../feeds.js';
import type { ReferenceLogProbs } from '../reference.js';
import type { RunContext } from '../run/stages.js';
import { paddedRows, responseSlice, type ExperienceStep, type Rollout } from './experience.js';

/** Rows per frozen forward: bounds the [rows, T, V] logits a forward holds. */
const FORWARD_ROWS = 8;

/**
 * Each rollout's response positions of a per-position [rows, T] value of a forward, run FORWARD_ROWS
 * rows at a time. `forward` also gets the first position a response reads (the chunk's shortest
 * prompt's length): a log-prob head needs logits only from the position before it on.
 */
export async function perResponse(rows: readonly Rollout[], padId: number, forward: (batch: ReturnType<typeof paddedRows>, firstResponse: number) => Promise<Float32Array>): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let at = 0; at < rows.length; at += FORWARD_ROWS) {
    const chunk = rows.slice(at, at + FORWARD_ROWS);
    const batch = paddedRows(chunk, padId);
    const values = await forward(batch, Math.min(...chunk.map((r) => r.prompt.length)));
    chunk.forEach((_, b) => out.push(responseSlice(values, chunk, b, batch.dims[1])));
  }
  return out;
}

/** A frozen model's log-probs of each rollout's response tokens (logits from the shortest prompt's last position on). */
export function frozenLogps(model: ReferenceLogProbs, rows: readonly Rollout[], padId: number): Promise<Float32Array[]> {
  return perResponse(rows, padId, (batch, firstResponse) => model.tokenLogprobs(batch, Math.max(0, firstResponse - 1)));
}

/**
 * Rollout-time values: a forward's per-token `output` on each rollout's response, its trained
 * weights fed live as inputs (the trainer's own arrays, read at every batch).
 */
export async function liveValues(ctx: RunContext, forward: Model, output: string, trained: () => Map<string, Float32Array>): Promise<Required<Pick<ExperienceStep, 'run' | 'release'>>> {
  const model = initializersAsInputs(forward, [...trained().keys()]);
  const session = await Session.create(model, { allowSpinning: 'during-run', ...ctx.session });
  const pad = ctx.dir.tokenizer.padTokenId;
  return {
    async run(exp) {
      if (exp.evaluation) return;
      const weights: Record<string, Tensor> = {};
      for (const [name, data] of trained()) weights[name] = { dtype: 'float32', dims: forward.graph.initializers.get(name)!.dims, data };
      const values = await perResponse(exp.rows, pad, async (batch) => (await session.run({ ...tokenFeeds(forward, batch), ...weights }, [output]))[output]!.data as Float32Array);
      values.forEach((v, i) => (exp.rows[i]!.oldValues = v));
    },
    release: () => session.release(),
  };
}
