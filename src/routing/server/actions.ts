// The two admin actions that do more than one store call, shared by the HTTP routes and the
// `alignkit annotate serve` command: route the pool, and label pairs with the AI judge.

import { fail } from '../../errors.js';
import { extractFeatures } from '../features/extract.js';
import { DEFAULT_LEXICAL_CONFIG, type LexicalConfig } from '../features/lexical.js';
import { routeTable, type AiJudge } from '../pipeline.js';
import type { PpmModel } from '../ppm/model.js';
import type { LabelStore } from '../store/label-store.js';
import { createRulesTagger } from '../taggers/rules.js';
import type { Tagger } from '../taggers/types.js';

export interface RoutePoolOptions {
  strategy: string;
  budget?: number;
  seed?: number;
  simulations?: number;
  epsilon?: number;
  /** PPM used by the model-based strategies (topk, simulated, optimal_*). */
  model?: PpmModel;
  /** Tagger for metadata features; the keyword `rules` tagger by default. */
  tagger?: Tagger;
  lexical?: LexicalConfig;
}

/** Computes the features pairs lack, routes the whole pool and records the run. */
export async function routePool(store: LabelStore, options: RoutePoolOptions) {
  const haveFeatures = await store.pairIdsWithFeatures();
  const missing = (await store.listPairs()).filter((p) => !haveFeatures.has(p.id));
  if (missing.length > 0) {
    await store.saveFeatures(await extractFeatures(missing, { tagger: options.tagger ?? createRulesTagger(), lexical: options.lexical ?? DEFAULT_LEXICAL_CONFIG }));
  }
  const table = await store.loadFeatureTable();
  if (table.ids.length === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'the label store holds no pairs to route; POST /pairs first', { parameter: 'pairs' });
  const { strategy, budget, seed, simulations, epsilon } = options;
  const { selection, decisions } = routeTable(table, { strategy, budget, model: options.model, seed, simulations, epsilon });
  const runId = await store.recordRouting({ strategy, budget: budget ?? null, params: { seed, simulations, epsilon }, predicted: selection.predicted ?? null }, decisions);
  const human = decisions.filter((d) => d.route === 'human').length;
  return { runId, human, ai: decisions.length - human, predicted: selection.predicted ?? null, featuresComputed: missing.length };
}

export interface JudgeSelection {
  /** These pairs; by default the pairs the latest run routes to the AI (every pair without a run). */
  pairIds?: string[];
  /** Every pair in the store, whatever its route. */
  all?: boolean;
  /** Leave out pairs this judge has labelled already (a restarted server does not judge twice). */
  onlyMissing?: boolean;
}

/** Labels pairs with the AI judge and stores its verdicts. */
export async function labelWithJudge(store: LabelStore, judge: AiJudge, selection: JudgeSelection = {}) {
  const pool = new Map((await store.listPairs()).map((p) => [p.id, p]));
  let ids = selection.pairIds;
  if (!ids) {
    const run = await store.latestRun();
    const aiRouted = run && !selection.all ? new Set((await store.decisions(run.id)).filter((d) => d.route === 'ai').map((d) => d.pairId)) : undefined;
    ids = [...pool.keys()].filter((id) => !aiRouted || aiRouted.has(id));
  }
  ids.forEach((id, i) => {
    if (!pool.has(id)) throw fail('ALIGNKIT_ERR_UNKNOWN_PAIR', `pairIds[${i}]: no pair with id '${id}' in the label store`, { field: `pairIds[${i}]`, pairId: id });
  });
  if (selection.onlyMissing) {
    const judged = new Set((await store.aiLabels()).filter((l) => l.judge === judge.name).map((l) => l.pairId));
    ids = ids.filter((id) => !judged.has(id));
  }
  const pairs = ids.map((id) => pool.get(id)!);
  const verdicts = pairs.length ? await judge.judge(pairs) : [];
  await store.addAiLabels(pairs.map((p, i) => ({ pairId: p.id, judge: judge.name, ...verdicts[i] })));
  return { judge: judge.name, labelled: pairs.length };
}
