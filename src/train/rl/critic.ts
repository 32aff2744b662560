// A separate critic for PPO and RTO (`--critic DIR`, run config rl.critic), as OpenRLHF trains
// one: a model of its own, initialised from a reward model (OpenRLHF's critic_pretrain defaults to
// reward_pretrain, openrlhf/cli/train_ppo.py) or from a causal LM with a fresh value head; its own
// optimizer and learning rate (critic_learning_rate, 9e-6 there against the actor's 1e-6); trained
// on PPO's clipped value loss (src/losses/ppo.ts valueLoss) while the policy's loss is the
// surrogate alone (lossHp.valueModel `critic`). V(s_t) is the critic's scalar head on the final
// hidden state of every position, the value of response token t read at position t - 1:
// OpenRLHF's CriticModel.forward (openrlhf/models/model.py) applies its value head to all of
// last_hidden_state, drops the last position (values[:, :-1]) and keeps the action positions.
//
// One run stage, `critic`: at rollout time the critic's values are the rollout's old values, which
// GAE reads; after the policy's update (`after`) the critic trains on the same batch, rl.epochs
// passes over the policy's minibatches (the order of src/train/rl/source.ts), and logs loss/value,
// val/clipfrac and val/mean under the names a shared value head logs them. The critic's weights and
// optimizer state go into the run's checkpoint (`tensors`), and the trained critic is written
// beside the exported policy as OUTPUT/critic, a directory of the critic's own layout.

import path from 'node:path';
import { fail } from '../../errors.js';
import { buildTrainingGraph, recomputeActivations, type TrainingGraph } from '../../graph/autodiff/index.js';
import { GraphBuilder, loadModel, onnxOpset, saveSafetensors, type Model, type Tensor } from '../../graph/index.js';
import { addTokenMaskHead, alignToNextToken, cloneModel, finalHiddenState, selectTrainable, stripKvCache, uniquifyNodeNames } from '../../graph/rewrites/index.js';
import { assertSameTokenizer } from '../../generate/index.js';
import { configureLoss, RlInputs, spliceLoss, valueLoss, type ConfiguredLoss, type LossInputSpec } from '../../losses/index.js';
import { ENCODER_TYPES, loadModelDir, type ModelDir } from '../../models/index.js';
import { createOptimizer, trainingArena } from '../../optim/index.js';
import { restoreTrainer, trainerTensors } from '../checkpoint.js';
import { exportHfDirectory } from '../export.js';
import { Trainer, trainableValues, type StepResult } from '../trainer.js';
import { CRITIC_DIR, RUN_OUTPUTS } from '../run/files.js';
import type { ModelRole } from '../run/kinds.js';
import { readsAny, type RunStage } from '../run/stages.js';
import { experienceBatch, rolloutItems, type Experience } from './experience.js';
import { minibatches } from './source.js';
import { liveValues } from './per-response.js';

/** OpenRLHF's default critic_learning_rate / actor_learning_rate (9e-6 / 1e-6): the critic's rate when rl.criticLr is not given. */
export const CRITIC_LR_RATIO = 9;

/** The critic's [N, T] values output. */
const VALUES = 'critic_values';

/** The critic's forward: its graph (KV cache stripped, one output: the values) and its new head, if any. */
export interface CriticForward {
  model: Model;
  values: string;
  /** Initializers the critic's head adds to its model (a causal LM's fresh value head), kept apart in its export. */
  head: string[];
}

/** The critic's role from its directory: a decoder reward model or a causal LM (an encoder sees the tokens after t, so its value at t would too). */
function criticRole(dir: ModelDir): ModelRole {
  if (ENCODER_TYPES.has(dir.arch.modelType))
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--critic ${dir.dir} is a ${dir.arch.modelType} encoder: it reads every token both ways, so its value of token t would see the rest of the response; give a decoder reward model or causal LM`, { field: 'rl.critic', file: dir.dir });
  if (!dir.arch.architectures.some((a) => /ForSequenceClassification$/.test(a))) return 'causal-lm';
  const labels = dir.arch.labels?.length ?? 1;
  if (labels !== 1)
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--critic ${dir.dir} scores ${labels} labels; a critic's value is one number per token: give a reward model with one score`, { field: 'rl.critic', file: dir.dir });
  return 'classifier';
}

/** Per role, the critic's value head over every position's final hidden state. */
const CRITIC_HEADS: Record<ModelRole, (model: Model) => CriticForward> = {
  // A reward model's own score head, applied to every position before its last-token pooling.
  classifier(model) {
    const m = cloneModel(model);
    const scores = finalHiddenState(m).head; // [N, T, 1]
    const b = new GraphBuilder({ graph: m.graph, opset: onnxOpset(m) });
    const values = b.op('Identity', [alignToNextToken(b, b.squeeze(scores, [2]))], {}, { names: [VALUES] })[0]!; // [N, T]
    uniquifyNodeNames(m.graph);
    m.graph.outputs = [{ name: values, dtype: 'float32' }];
    return { model: m, values, head: [] };
  },
  // A causal LM: a fresh linear value head, zero at the start (every value 0), as the policy's shared head starts.
  'causal-lm'(model) {
    const r = addTokenMaskHead(model, { heads: [VALUES], startLogit: 0, name: 'critic_value_head' });
    r.model.graph.outputs = [{ name: r.outputs[VALUES]!, dtype: 'float32' }];
    return { model: r.model, values: r.outputs[VALUES]!, head: r.trainable };
  },
};

/** The critic of `dir` (it must share the policy's tokenizer: it reads the policy's token ids). */
export async function loadCritic(dir: string, policy: ModelDir): Promise<{ dir: ModelDir; source: Model; forward: CriticForward }> {
  const critic = await loadModelDir(dir);
  const role = criticRole(critic);
  assertSameTokenizer(policy.tokenizer, critic.tokenizer, `critic ${dir}`, 'its values are read at the policy\'s token positions', 'critic');
  const source = loadModel(critic.onnxFile);
  return { dir: critic, source, forward: CRITIC_HEADS[role](stripKvCache(source).model) };
}

export interface CriticGraph {
  training: TrainingGraph;
  /** Metric name -> graph output. */
  metricOutputs: Record<string, string>;
  /** The loss inputs the batch feeds (response mask, old values, returns). */
  fed: LossInputSpec[];
}

/**
 * The critic's training graph: its forward's values into `loss` (PPO's value loss), every weight trained
 * (a fresh head's too); with `recompute` (the run's --recompute) activations are recomputed in the backward
 * pass as the policy's graph does.
 */
export function buildCriticGraph(forward: CriticForward, loss: ConfiguredLoss, rows: number, recompute = false): CriticGraph {
  const model = cloneModel(forward.model);
  model.graph.outputs = [];
  const g = new GraphBuilder({ graph: model.graph, opset: onnxOpset(model) });
  const spliced = spliceLoss(g, loss, { [RlInputs.values]: forward.values }, { B: rows });
  const training = buildTrainingGraph({ model, loss: spliced.lossOutput, trainable: [...new Set([...selectTrainable(forward.model), ...forward.head])], outputs: Object.values(spliced.metricOutputs) });
  return { training: recompute ? recomputeActivations(training) : training, metricOutputs: spliced.metricOutputs, fed: spliced.createdInputs };
}

/** The critic's value loss: PPO's, with the run loss's value clipping and aggregation. */
export function criticLoss(policyLoss: ConfiguredLoss): ConfiguredLoss {
  return configureLoss(valueLoss, { valueClipRange: policyLoss.hp.valueClipRange, aggregation: policyLoss.hp.aggregation });
}

/** Mean of each metric over the critic's steps, by metric name. */
function stepMeans(results: readonly StepResult[], outputs: Record<string, string>): Record<string, number> {
  return Object.fromEntries(Object.entries(outputs).map(([name, out]) => [name, results.reduce((a, r) => a + r.metrics[out]!, 0) / results.length]));
}

export const criticStage: RunStage = {
  name: 'critic',
  appliesTo: (d) => d.config.rl?.critic !== undefined && readsAny([RlInputs.tokenAdvantages])(d),
  async experience(ctx, live) {
    const { config } = ctx;
    const s = config.rl!;
    const critic = await loadCritic(s.critic!, ctx.dir);
    const loss = criticLoss(ctx.loss);
    const graph = buildCriticGraph(critic.forward, loss, config.microBatchSize, config.recompute);
    const arena = trainingArena(trainableValues(graph.training, critic.forward.model));
    const optimizer = createOptimizer(config.optimizer, { ...config.optimizerHp, lr: s.criticLr ?? CRITIC_LR_RATIO * config.lr }, { schedule: live.schedule, arena });
    const trainer = await Trainer.create({ training: graph.training, source: critic.forward.model, optimizer, metrics: Object.values(graph.metricOutputs), session: ctx.session, allocator: arena });
    const values = await liveValues(ctx, critic.forward.model, critic.forward.values, () => trainer.values());
    // The trained critic's arrays, live: the export hook writes them, a caller reads them from the run's result.
    ctx.extras.critic = { dir: critic.dir.dir, values: trainer.values() };
    const batch = { forward: critic.forward.model, groups: ctx.groups, loss, fed: graph.fed, reference: new Map(), padId: ctx.dir.tokenizer.padTokenId };
    return {
      run: values.run,
      async after(exp: Experience, metrics: Record<string, number>) {
        const started = performance.now();
        const items = rolloutItems(exp.rows);
        const results: StepResult[] = [];
        // The policy's minibatches (OpenRLHF's PPOTrainer steps the actor, then the critic, on each).
        for (const micro of minibatches(exp.rows.length, config, exp.iteration, s.epochs)) results.push(await trainer.step(micro.map((rows) => experienceBatch({ ...batch, items }, exp.rows, rows, {}).feeds)));
        Object.assign(metrics, stepMeans(results, graph.metricOutputs), { 'critic/lr': optimizer.lr(), 'time/critic-update': (performance.now() - started) / 1000 });
      },
      state: () => trainer.stepCount,
      restore: (step) => (trainer.stepCount = step as number),
      tensors: () => trainerTensors(trainer),
      loadTensors: (t) => restoreTrainer(trainer, t, `checkpoint tensors of critic ${s.critic}`),
      async release() {
        await values.release();
        await trainer.release();
      },
    };
  },
  async export(ctx, outDir) {
    if (!ctx.extras.critic) return;
    const trained = ctx.extras.critic.values;
    const critic = await loadCritic(ctx.extras.critic.dir, ctx.dir);
    const dir = path.join(outDir, CRITIC_DIR);
    const head = new Set(critic.forward.head);
    // The critic's own graph with its trained weights; a fresh value head (a causal LM's) has no place in that graph: its weights go beside it.
    exportHfDirectory({ model: critic.source, values: new Map([...trained].filter(([n]) => !head.has(n))), outDir: dir, sourceDir: critic.dir.dir, exclude: RUN_OUTPUTS });
    if (head.size > 0) saveSafetensors(path.join(dir, 'value_head.safetensors'), new Map([...head].map((n): [string, Tensor] => [n, { dtype: 'float32', dims: critic.forward.model.graph.initializers.get(n)!.dims, data: trained.get(n)! }])));
  },
};
