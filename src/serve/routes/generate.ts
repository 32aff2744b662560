// Generation routes: POST /v1/generate (JSON, or Server-Sent Events with "stream": true) and
// POST /v1/best-of-n (n samples reranked by the served reward models). Registered by
// `buildServer({plugins: [generateRoutes(generator)]})` when the server is given a base model.
// A client that disconnects cancels its decoding at the next token.

import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { fail } from '../../errors.js';
import { bestOfN, type GenerationResult, type Generator } from '../../generate/index.js';
import type { Text } from '../../models/index.js';
import { checkClientBatch, scoreRequest, type ScoringBody } from '../request-options.js';
import { errorResponses, scoringOptionsSchema } from '../schemas.js';
import { checkScoreScale, configFrom, DEFAULT_GENERATE_LIMITS, generationWindow, samplingSchema, type GenerateLimits, type SamplingBody } from './sampling.js';

export { DEFAULT_GENERATE_LIMITS, type GenerateLimits } from './sampling.js';

interface GenerateBody extends SamplingBody {
  stream?: boolean;
}

interface BestOfNBody extends SamplingBody, ScoringBody {
  n: number;
}

/** Aborts when the client goes away before the response is complete. */
function disconnectSignal(request: FastifyRequest): AbortSignal {
  const ctl = new AbortController();
  request.raw.on('close', () => {
    if (!request.raw.complete || !request.raw.socket?.writable) ctl.abort();
  });
  request.raw.socket?.on('close', () => ctl.abort());
  return ctl.signal;
}

function resultJson(r: GenerationResult, armNames: string[]) {
  return {
    text: r.text,
    tokens: r.tokens,
    num_tokens: r.tokens.length,
    finish_reason: r.finishReason,
    base_logprobs: r.baseLogprobs,
    arm_logprobs: Object.fromEntries(armNames.map((n, i) => [n, r.armLogprobs[i]])),
  };
}

export function generateRoutes(gen: Generator, limits: GenerateLimits = DEFAULT_GENERATE_LIMITS): FastifyPluginAsync {
  const armNames = gen.arms.map((a) => a.name);
  const window = generationWindow(gen);

  /** The prompt's ids must leave room for the requested new tokens within the models' window. */
  function checkPromptLength(prompt: Text, maxTokens: number): void {
    const promptTokens = gen.encodePrompt(prompt).length;
    const limit = window - maxTokens;
    if (promptTokens > limit)
      throw fail('ALIGNKIT_ERR_TOO_LONG', `prompt has ${promptTokens} tokens; with max_tokens ${maxTokens} the model's ${window}-token window leaves room for ${Math.max(limit, 0)}`, { field: 'prompt', tokens: promptTokens, limit });
  }

  /** Everything about a request that can be refused before any work: sampling, ARMs, lengths. */
  function prepare(body: SamplingBody) {
    const cfg = configFrom(body, gen, limits);
    checkScoreScale(body, gen); // also refuses unknown ARM names before any work or streamed byte
    checkPromptLength(body.prompt, cfg.maxNewTokens!);
    return cfg;
  }

  return async (app) => {
    const resultSchema = {
      type: 'object',
      properties: {
        text: { type: 'string' }, tokens: { type: 'array', items: { type: 'integer' } }, num_tokens: { type: 'integer' }, finish_reason: { type: 'string' },
        base_logprobs: { type: 'array', items: { type: 'number' } },
        arm_logprobs: { type: 'object', additionalProperties: { type: 'array', items: { type: 'number' } } },
      },
    };

    app.post<{ Body: GenerateBody }>('/v1/generate', {
      config: { limited: true },
      schema: {
        tags: ['generation'],
        summary: 'Generate from the base model, guided by the loaded ARMs (GenARM); "stream": true answers with Server-Sent Events',
        body: {
          type: 'object', required: ['prompt'], additionalProperties: false,
          properties: { ...samplingSchema(gen, limits, app.serveConfig.maxInputChars), stream: { type: 'boolean' } },
        },
        response: { 200: resultSchema, ...errorResponses },
      },
    }, async (request, reply) => {
      const body = request.body;
      const cfg = prepare(body);
      const signal = disconnectSignal(request);
      if (!body.stream) {
        const [r] = await gen.generate([body.prompt], cfg, body.alphas, signal);
        return resultJson(r!, armNames);
      }
      reply.hijack();
      const res = reply.raw;
      // x-accel-buffering: nginx passes each event on at once instead of buffering the stream.
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: app.draining ? 'close' : 'keep-alive', 'x-accel-buffering': 'no', 'x-request-id': request.id });
      const it = gen.stream([body.prompt], cfg, body.alphas, signal);
      try {
        for (let step = await it.next(); ; step = await it.next()) {
          if (step.done) {
            res.write(`event: done\ndata: ${JSON.stringify(resultJson(step.value[0]!, armNames))}\n\n`);
            break;
          }
          const e = step.value;
          res.write(`data: ${JSON.stringify({ token: e.token, text: e.delta, base_logprob: e.baseLogprob, arm_logprobs: e.armLogprobs })}\n\n`);
        }
      } catch (err) {
        // Headers are gone: report in-band so the client sees why the stream ended.
        res.write(`event: error\ndata: ${JSON.stringify({ error: (err as Error).message })}\n\n`);
      }
      res.end();
    });

    app.post<{ Body: BestOfNBody }>('/v1/best-of-n', {
      config: { limited: true },
      schema: {
        tags: ['generation'],
        summary: 'Sample n responses and rerank them with the served reward models (mean, worst-case or uncertainty-weighted ensemble)',
        body: {
          type: 'object', required: ['prompt', 'n'], additionalProperties: false,
          properties: { ...samplingSchema(gen, limits, app.serveConfig.maxInputChars), n: { type: 'integer', minimum: 1, maximum: limits.maxN }, ...scoringOptionsSchema(app.serveConfig) },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              best: { type: 'integer', description: 'Index of the highest-reward candidate.' },
              candidates: { type: 'array', items: { type: 'object', properties: { ...resultSchema.properties, reward: { type: 'number' } } } },
            },
          },
          ...errorResponses,
        },
      },
    }, async (request) => {
      const body = request.body;
      checkClientBatch(body.n, 'n', app.serveConfig);
      const cfg = prepare(body);
      const results = await gen.generate(Array(body.n).fill(body.prompt), cfg, body.alphas, disconnectSignal(request));
      const req = scoreRequest(body, app.serveConfig);
      const ranked = await bestOfN(body.prompt, results.map((r) => r.text), async (items) => (await app.scoring.score(items, req, 'candidates')).rewards);
      return { best: ranked.bestIndex, candidates: results.map((r, i) => ({ ...resultJson(r, armNames), reward: ranked.scores[i] })) };
    });
  };
}
