// The routing routes as one Fastify plugin: submit a pool of pairs, route it, fetch the next pair
// for an annotator, record human labels, get AI labels from the configured judge, export the
// labelled dataset, and serve the annotator page. Register it under a prefix, e.g.
// `app.register(routingPlugin({store}), {prefix: '/routing'})`.

import type { FastifyError, FastifyInstance, FastifyPluginAsync } from 'fastify';
import { isAlignkitError } from '../../errors.js';
import { extractFeatures } from '../features/extract.js';
import { DEFAULT_LEXICAL_CONFIG, type LexicalConfig } from '../features/lexical.js';
import { routeTable, type AiJudge } from '../pipeline.js';
import type { PpmModel } from '../ppm/model.js';
import type { LabelStore } from '../store/label-store.js';
import { createRulesTagger } from '../taggers/rules.js';
import type { Tagger } from '../taggers/types.js';
import { fail } from '../../errors.js';
import { requireAdmin, requireAnnotator } from './auth.js';
import { ANNOTATOR_PAGE_CSP, annotatorPage } from './page.js';
import { EXPORT_FORMATS, exportBytes, type ExportFormat } from './export.js';
import { aiLabelsSchema, createAnnotatorSchema, exportSchema, nextPairSchema, routeSchema, submitLabelSchema, submitPairsSchema, updateLabelSchema } from './schemas.js';

export interface RoutingPluginOptions {
  store: LabelStore;
  /** PPM used by the model-based strategies (topk, simulated, optimal_*). */
  model?: PpmModel;
  /** Tagger for metadata features; the keyword `rules` tagger by default. */
  tagger?: Tagger;
  lexical?: LexicalConfig;
  /** Labeller for AI labels (a judge, an LM endpoint, or `rewardScorerJudge(...)`). */
  judge?: AiJudge;
  /** When set, admin routes require this key; otherwise they are open (put them behind your own auth). */
  adminKey?: string;
  /** Human labels wanted per human-routed pair before it stops being handed out. */
  labelsPerPair?: number;
}

type Body<T> = { Body: T };

function errorReply(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isAlignkitError(error)) {
      return reply.status(error.status).send({ error: { code: error.code, message: error.message, details: error.details } });
    }
    if (error.validation) {
      return reply.status(400).send({ error: { code: 'ALIGNKIT_ERR_BAD_REQUEST', message: error.message } });
    }
    if (typeof error.statusCode === 'number' && error.statusCode < 500) {
      return reply.status(error.statusCode).send({ error: { code: error.code ?? 'ALIGNKIT_ERR_BAD_REQUEST', message: error.message } });
    }
    request.log.error({ err: error }, 'routing route failed');
    return reply.status(500).send({ error: { code: 'ALIGNKIT_ERR_INTERNAL', message: `internal error (request id ${request.id})` } });
  });
}

export function routingPlugin(options: RoutingPluginOptions): FastifyPluginAsync {
  const { store } = options;
  const tagger = options.tagger ?? createRulesTagger();
  const lexical = options.lexical ?? DEFAULT_LEXICAL_CONFIG;
  const labelsPerPair = options.labelsPerPair ?? 1;

  return async (app) => {
    errorReply(app);

    app.post<Body<{ pairs: { id: string; prompt: string; response_a: string; response_b: string; extra?: Record<string, unknown> }[] }>>(
      '/pairs',
      { schema: submitPairsSchema },
      async (request) => {
        requireAdmin(options.adminKey, request);
        return store.addPairs(request.body.pairs.map((p) => ({ id: p.id, prompt: p.prompt, responseA: p.response_a, responseB: p.response_b, extra: p.extra })));
      },
    );

    app.post<Body<{ strategy: string; budget?: number; seed?: number; simulations?: number; epsilon?: number }>>('/route', { schema: routeSchema }, async (request) => {
      requireAdmin(options.adminKey, request);
      const haveFeatures = store.pairIdsWithFeatures();
      const missing = store.listPairs().filter((p) => !haveFeatures.has(p.id));
      if (missing.length > 0) store.saveFeatures(await extractFeatures(missing, { tagger, lexical }));
      const table = store.loadFeatureTable();
      if (table.ids.length === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'the label store holds no pairs to route; POST /pairs first', { parameter: 'pairs' });
      const { body } = request;
      const { selection, decisions } = routeTable(table, { strategy: body.strategy, budget: body.budget, model: options.model, seed: body.seed, simulations: body.simulations, epsilon: body.epsilon });
      const runId = store.recordRouting({ strategy: body.strategy, budget: body.budget ?? null, params: { seed: body.seed, simulations: body.simulations, epsilon: body.epsilon }, predicted: selection.predicted ?? null }, decisions);
      const human = decisions.filter((d) => d.route === 'human').length;
      return { runId, human, ai: decisions.length - human, predicted: selection.predicted ?? null, featuresComputed: missing.length };
    });

    app.post<Body<{ pairIds?: string[]; all?: boolean }>>('/ai-labels', { schema: aiLabelsSchema }, async (request) => {
      requireAdmin(options.adminKey, request);
      if (!options.judge) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'no AI judge is configured for this server (routingPlugin({judge}))', { parameter: 'judge' });
      const run = store.latestRun();
      let ids = request.body?.pairIds;
      if (!ids) {
        const aiRouted = run && !request.body?.all ? new Set(store.decisions(run.id).filter((d) => d.route === 'ai').map((d) => d.pairId)) : undefined;
        ids = store.listPairs().map((p) => p.id).filter((id) => !aiRouted || aiRouted.has(id));
      }
      const pairs = ids.map((id) => {
        const pair = store.getPair(id);
        if (!pair) throw fail('ALIGNKIT_ERR_UNKNOWN_PAIR', `no pair with id '${id}' in the label store`, { field: 'pairIds', pairId: id });
        return pair;
      });
      const verdicts = await options.judge.judge(pairs);
      store.addAiLabels(pairs.map((p, i) => ({ pairId: p.id, judge: options.judge!.name, ...verdicts[i] })));
      return { judge: options.judge.name, labelled: pairs.length };
    });

    app.post<Body<{ name: string; id?: string }>>('/annotators', { schema: createAnnotatorSchema }, async (request, reply) => {
      requireAdmin(options.adminKey, request);
      return reply.status(201).send(store.createAnnotator(request.body.name, request.body.id));
    });

    app.get('/next', { schema: nextPairSchema }, async (request) => {
      const annotator = requireAnnotator(store, request);
      return { annotator, pair: store.nextPairFor(annotator.id, labelsPerPair) ?? null };
    });

    app.post<Body<{ pairId: string; scale: number; confidence: number }>>('/labels', { schema: submitLabelSchema }, async (request, reply) => {
      const annotator = requireAnnotator(store, request);
      const result = store.submitHumanLabel({ pairId: request.body.pairId, annotatorId: annotator.id, scale: request.body.scale, confidence: request.body.confidence });
      return reply.status(result.created ? 201 : 200).send(result);
    });

    app.put<{ Params: { id: number }; Body: { scale: number; confidence: number } }>('/labels/:id', { schema: updateLabelSchema }, async (request) => {
      const annotator = requireAnnotator(store, request);
      return { label: store.updateHumanLabel(request.params.id, annotator.id, request.body) };
    });

    app.get<{ Querystring: { format: ExportFormat; judge?: string } }>('/export', { schema: exportSchema }, async (request, reply) => {
      requireAdmin(options.adminKey, request);
      const rows = store.exportLabelled(request.query.judge);
      const format = EXPORT_FORMATS[request.query.format];
      return reply
        .header('content-type', format.contentType)
        .header('content-disposition', `attachment; filename="labelled.${format.extension}"`)
        .send(await exportBytes(rows, request.query.format));
    });

    app.get('/annotate', async (_request, reply) => {
      return reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', ANNOTATOR_PAGE_CSP).send(annotatorPage());
    });
  };
}
