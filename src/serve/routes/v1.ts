// alignkit's own scoring API: score items with every (or the named) reward model and their
// combination, compare two responses to one prompt, list the served models.

import type { FastifyPluginAsync } from 'fastify';
import { preferenceProbability, type ScoreItem, type Text } from '../../rewards/index.js';
import { checkClientBatch, scoreRequest, type ScoringBody } from '../request-options.js';
import { combineSchema, errorResponses, itemSchema, scoringOptionsSchema, textSchema } from '../schemas.js';

interface ScoreBody extends ScoringBody {
  items: { prompt?: Text; response: Text }[];
}

interface CompareBody extends ScoringBody {
  prompt?: Text;
  responses: [Text, Text];
}

export const v1Routes: FastifyPluginAsync = async (app) => {
  const cfg = app.serveConfig;
  const memberSchema = {
    type: 'object',
    properties: { name: { type: 'string' }, reward: { type: 'number' }, heads: { type: 'object', additionalProperties: { type: 'number' } } },
  };

  app.post<{ Body: ScoreBody }>('/v1/score', {
    config: { limited: true },
    schema: {
      tags: ['alignkit'],
      summary: 'Score prompt/response items with the served reward models and their combination',
      body: {
        type: 'object',
        required: ['items'],
        additionalProperties: false,
        properties: { items: { type: 'array', minItems: 1, items: itemSchema(cfg), description: `At most ${cfg.maxClientBatch} items (413 above).` }, ...scoringOptionsSchema(cfg) },
      },
      response: {
        200: {
          type: 'object',
          properties: {
            combine: combineSchema,
            models: { type: 'array', items: { type: 'string' } },
            results: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  reward: { type: 'number', description: 'The combined reward.' },
                  variance: { type: 'number', description: 'Disagreement between the models (population variance of their rewards).' },
                  models: { type: 'array', items: memberSchema },
                },
              },
            },
          },
        },
        ...errorResponses,
      },
    },
  }, async (request) => {
    const body = request.body;
    checkClientBatch(body.items.length, 'items', cfg);
    const req = scoreRequest(body, cfg);
    const items: ScoreItem[] = body.items.map((it) => ({ prompt: it.prompt ?? '', response: it.response }));
    const scores = await app.scoring.score(items, req);
    return {
      combine: req.combine,
      models: scores.members.map((m) => m.name),
      results: scores.rewards.map((reward, i) => ({
        reward,
        variance: scores.variance[i],
        models: scores.members.map((m) => ({ name: m.name, reward: m.rewards[i], heads: Object.fromEntries(m.heads.map((h, j) => [h, m.headScores[i][j]])) })),
      })),
    };
  });

  app.post<{ Body: CompareBody }>('/v1/compare', {
    config: { limited: true },
    schema: {
      tags: ['alignkit'],
      summary: 'Probability that the first of two responses to one prompt is preferred: sigmoid(r_a - r_b)',
      body: {
        type: 'object',
        required: ['responses'],
        additionalProperties: false,
        properties: {
          prompt: textSchema(cfg, 0),
          responses: { type: 'array', minItems: 2, maxItems: 2, items: textSchema(cfg, 0), description: 'The two responses [a, b] (either may be empty).' },
          ...scoringOptionsSchema(cfg),
        },
      },
      response: {
        200: {
          type: 'object',
          properties: {
            combine: combineSchema,
            rewards: { type: 'array', items: { type: 'number' }, description: 'Combined rewards [r_a, r_b].' },
            probability: { type: 'number', description: 'P(a preferred to b) from the combined rewards.' },
            preferred: { type: 'integer', description: 'Index of the preferred response (0 on a tie).' },
            models: {
              type: 'array',
              items: { type: 'object', properties: { name: { type: 'string' }, rewards: { type: 'array', items: { type: 'number' } }, probability: { type: 'number' } } },
            },
          },
        },
        ...errorResponses,
      },
    },
  }, async (request) => {
    const body = request.body;
    const req = scoreRequest(body, cfg);
    const prompt = body.prompt ?? '';
    const scores = await app.scoring.score(body.responses.map((response) => ({ prompt, response })), req, 'responses');
    const [ra, rb] = scores.rewards;
    return {
      combine: req.combine,
      rewards: [ra, rb],
      probability: preferenceProbability(ra, rb),
      preferred: rb > ra ? 1 : 0,
      models: scores.members.map((m) => ({ name: m.name, rewards: m.rewards, probability: preferenceProbability(m.rewards[0], m.rewards[1]) })),
    };
  });

  app.get('/v1/models', {
    schema: {
      tags: ['alignkit'],
      summary: 'The served reward models, the default combination and the server limits',
      response: {
        200: {
          type: 'object',
          properties: {
            models: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  name: { type: 'string' },
                  heads: { type: 'array', items: { type: 'string' } },
                  headWeights: { type: 'object', additionalProperties: { type: 'number' } },
                  maxLength: { type: 'integer' },
                  fixture: { type: 'boolean' },
                  device: {
                    type: 'object',
                    description: 'Where the model runs: the provider (cpu, cuda, webgpu) and, for webgpu, the adapter.',
                    properties: {
                      provider: { type: 'string' },
                      adapter: {
                        type: 'object',
                        properties: {
                          name: { type: 'string' }, backend: { type: 'string' }, vendor: { type: 'string' }, architecture: { type: 'string' },
                          description: { type: 'string' }, software: { type: 'boolean' },
                        },
                      },
                    },
                  },
                },
              },
            },
            combine: combineSchema,
            limits: { type: 'object', additionalProperties: { type: 'number' } },
          },
        },
      },
    },
  }, async () => ({
    models: app.scoring.models.map((m) => ({
      name: m.name,
      heads: m.batcher.heads,
      headWeights: Object.keys(m.headWeights).length ? m.headWeights : { [m.batcher.heads[0]]: 1 },
      maxLength: m.batcher.maxLength,
      fixture: m.fixture,
      ...(m.device && { device: m.device }),
    })),
    combine: cfg.combine,
    limits: {
      maxClientBatch: cfg.maxClientBatch,
      maxConcurrent: cfg.maxConcurrent,
      bodyLimit: cfg.bodyLimit,
      maxInputChars: cfg.maxInputChars,
      maxBatch: cfg.maxBatch,
      batchWindowMs: cfg.batchWindowMs,
    },
  }));
};
