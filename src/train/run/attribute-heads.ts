// Multi-attribute reward models (HelpSteer2 / SteerLM): score head k of the classifier is trained on
// attribute k of the loss's `attributes`, so the head count must equal the attribute count, and the
// exported config.json names each head after its attribute (id2label), which is what
// src/rewards reads as the model's `heads` and what user head weights ({helpfulness: 0.6, ...}) refer to.

import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../../errors.js';
import type { Model } from '../../graph/index.js';
import { RewardInputs, type ConfiguredLoss } from '../../losses/index.js';
import type { ModelDir } from '../../models/index.js';
import { readsAny, type RunStage } from './stages.js';

/** The attribute per head when the loss regresses attribute ratings, else undefined. */
export function trainedAttributes(loss: ConfiguredLoss): string[] | undefined {
  return loss.inputs.some((s) => s.name === RewardInputs.targets) ? [...(loss.hp.attributes as string[])] : undefined;
}

/** Scores per sequence of the forward model: the fixed last dim of `logits`, else the config's labels (as SequenceClassifier reads them). */
function headCount(model: Model, dir: ModelDir): number {
  const last = model.graph.outputs.find((o) => o.name === 'logits')?.dims?.at(-1);
  return typeof last === 'number' ? last : (dir.arch.labels?.length ?? 1);
}

/** Fails before training, naming lossHp.attributes, when the heads and attributes differ in number. */
export function checkAttributeHeads(attributes: readonly string[], model: Model, dir: ModelDir): void {
  const heads = headCount(model, dir);
  if (heads === attributes.length) return;
  const names = dir.arch.labels && dir.arch.labels.length === heads ? ` (${dir.arch.labels.join(', ')})` : '';
  throw fail(
    'ALIGNKIT_ERR_INVALID_ARGUMENT',
    `run config field lossHp.attributes lists ${attributes.length} attributes (${attributes.join(', ')}) but ${dir.dir} has ${heads} score heads${names}; head k trains attribute k, so list ${heads} attribute names`,
    { field: 'lossHp.attributes', value: attributes, heads },
  );
}

/** Rewrites `<outDir>/config.json` so head k is named attributes[k] (regression heads). */
export function writeAttributeLabels(outDir: string, attributes: readonly string[]): void {
  const file = path.join(outDir, 'config.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  const out = {
    ...config,
    num_labels: attributes.length,
    id2label: Object.fromEntries(attributes.map((a, i) => [String(i), a])),
    label2id: Object.fromEntries(attributes.map((a, i) => [a, i])),
    // HelpSteer2's attribute heads are trained by MSE on the ratings (transformers' "regression").
    problem_type: 'regression',
  };
  fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
}

/** A regression loss over attributes: head k trains attribute k, checked before training and named in the export. */
export const attributeHeadsStage: RunStage = {
  name: 'attribute-heads',
  appliesTo: readsAny([RewardInputs.targets]),
  model(ctx, model) {
    checkAttributeHeads(trainedAttributes(ctx.loss)!, model, ctx.dir);
    return model;
  },
  export: (ctx, outDir) => writeAttributeLabels(outDir, trainedAttributes(ctx.loss)!),
};
