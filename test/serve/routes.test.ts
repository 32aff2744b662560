// Every route through fastify.inject on an app serving two real (tiny, in-process) ONNX models with
// hand-computable scores: `len` (one head: 2 * response chars + prompt chars - 1) and `duo`
// (heads h0 = prompt chars, h1 = 10 - response chars; reward = h0 by default).
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fail } from '../../src/errors.js';
import { buildServer } from '../../src/serve/index.js';
import { LinearRewardModel } from '../rewards/support/linear-reward-model.js';

let app: FastifyInstance;

async function models() {
  return [
    await LinearRewardModel.create('len', ['score'], [[1], [2], [-1]], 200),
    await LinearRewardModel.create('duo', ['h0', 'h1'], [[1, 0], [0, -1], [0, 10]], 200),
  ];
}

beforeAll(async () => {
  app = buildServer({ rewardModels: await models(), config: { maxClientBatch: 4, maxInputChars: 100, bodyLimit: 4096 } });
  await app.ready();
});
afterAll(() => app.close());

const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object });

describe('POST /v1/score', () => {
  it('returns per-model, per-head and combined rewards', async () => {
    const r = await post('/v1/score', { items: [{ prompt: 'abc', response: 'hello' }, { response: 'hi' }] });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.models).toEqual(['len', 'duo']);
    // item 0: len = 3 + 10 - 1 = 12, duo = (3, 5) -> 3; mean 7.5, variance 20.25
    expect(body.results[0].models).toEqual([{ name: 'len', reward: 12, heads: { score: 12 } }, { name: 'duo', reward: 3, heads: { h0: 3, h1: 5 } }]);
    expect(body.results[0].reward).toBe(7.5);
    expect(body.results[0].variance).toBe(20.25);
    // item 1: len = 0 + 4 - 1 = 3, duo = 0
    expect(body.results[1].reward).toBe(1.5);
    expect(r.headers['x-request-id']).toBeTruthy();
  });

  it('takes a model subset and a combination', async () => {
    const r = await post('/v1/score', { items: [{ prompt: 'abc', response: 'hello' }], models: ['duo', 'len'], combine: 'uncertainty', lambda: 0.1 });
    expect(r.json().combine).toEqual({ method: 'uncertainty', lambda: 0.1 });
    expect(r.json().results[0].reward).toBeCloseTo(7.5 - 0.1 * 20.25, 5);
    const min = await post('/v1/score', { items: [{ prompt: 'abc', response: 'hello' }], combine: 'min' });
    expect(min.json().results[0].reward).toBe(3);
  });

  it('accepts chat messages as prompt and response', async () => {
    const r = await post('/v1/score', { items: [{ prompt: [{ role: 'user', content: 'abc' }], response: [{ role: 'assistant', content: 'hello' }] }], models: ['len'] });
    expect(r.statusCode).toBe(200);
    expect(r.json().results[0].reward).toBe(12);
  });
});

describe('POST /v1/compare', () => {
  it('gives sigmoid(r_a - r_b) overall and per model', async () => {
    const r = await post('/v1/compare', { prompt: 'ab', responses: ['xyz', 'x'], models: ['len'] });
    const body = r.json();
    // r_a = 2 + 6 - 1 = 7, r_b = 2 + 2 - 1 = 3
    expect(body.rewards).toEqual([7, 3]);
    expect(body.probability).toBeCloseTo(1 / (1 + Math.exp(-4)), 6);
    expect(body.preferred).toBe(0);
    expect(body.models[0]).toEqual({ name: 'len', rewards: [7, 3], probability: body.probability });
  });
});

describe('GET /v1/models, /healthz, /metrics', () => {
  it('lists the models with heads, weights and limits', async () => {
    const body = (await app.inject('/v1/models')).json();
    expect(body.models.map((m: { name: string }) => m.name)).toEqual(['len', 'duo']);
    expect(body.models[1]).toMatchObject({ heads: ['h0', 'h1'], headWeights: { h0: 1 }, maxLength: 200, fixture: false });
    expect(body.limits).toMatchObject({ maxClientBatch: 4, maxInputChars: 100, bodyLimit: 4096 });
  });

  it('is healthy', async () => {
    const r = await app.inject('/healthz');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ status: 'ok', models: ['len', 'duo'] });
  });

  it('exposes Prometheus metrics of requests and batches', async () => {
    await post('/v1/score', { items: [{ response: 'abc' }] });
    const r = await app.inject('/metrics');
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(r.body).toContain('# TYPE alignkit_http_requests_total counter');
    expect(r.body).toMatch(/alignkit_http_requests_total\{method="POST",route="\/v1\/score",status="200"\} \d+/);
    expect(r.body).toMatch(/alignkit_batches_total\{model="len"\} \d+/);
    expect(r.body).toMatch(/alignkit_batch_size_bucket\{le="\+Inf",model="len"\} \d+/);
    expect(r.body).toContain('alignkit_queue_items{model="duo"} 0');
    expect(r.body).toMatch(/^alignkit_requests_in_flight 0$/m);
  });

  it('exposes the default process metrics operators look for first (prom-client)', async () => {
    const body = (await app.inject('/metrics')).body;
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_gc_duration_seconds', 'nodejs_active_handles_total'])
      expect(body).toContain(`# TYPE ${name} `);
  });
});

describe('POST /predict (text-embeddings-inference)', () => {
  it('scores one text with the first model: raw scores and the sigmoid TEI applies to one label', async () => {
    // One text is tokenized whole, as TEI does: the prompt side of an item with an empty response.
    const raw = await post('/predict', { inputs: 'hello', raw_scores: true });
    expect(raw.json()).toEqual([{ score: 4, label: 'score' }]); // 5 + 0 - 1
    const prob = await post('/predict', { inputs: 'hello' });
    expect(prob.json()[0].score).toBeCloseTo(1 / (1 + Math.exp(-4)), 6);
  });

  it('reads a pair as (prompt, response) and a batch of singles and pairs', async () => {
    expect((await post('/predict', { inputs: ['abc', 'hello'], raw_scores: true })).json()).toEqual([{ score: 12, label: 'score' }]);
    const batch = (await post('/predict', { inputs: [['hi'], ['abc', 'hello']], raw_scores: true })).json();
    expect(batch).toEqual([[{ score: 1, label: 'score' }], [{ score: 12, label: 'score' }]]);
  });

  it('applies the batch cap with a 413', async () => {
    const r = await post('/predict', { inputs: [['a'], ['b'], ['c'], ['d'], ['e']] });
    expect(r.statusCode).toBe(413);
    expect(r.json()).toMatchObject({ code: 'ALIGNKIT_ERR_BATCH_TOO_LARGE', field: 'inputs', error_type: 'validation' });
  });
});

describe('POST /get_reward (OpenRLHF)', () => {
  it('scores each query as one text and combines the models', async () => {
    const r = await post('/get_reward', { query: ['hello', 'hi'], prompts: ['x', 'y'], labels: ['', ''] });
    // Whole texts (the prompts are not prefixes): len 5 - 1 = 4, 2 - 1 = 1; duo (prompt chars) 5, 2
    expect(r.json()).toEqual({ rewards: [4.5, 1.5], scores: [4.5, 1.5], extra_logs: {} });
  });

  it('splits a query after its prompt when the prompt is its prefix, as /v1/score scores that pair', async () => {
    const r = await post('/get_reward', { query: ['abchello'], prompts: ['abc'] });
    const score = await post('/v1/score', { items: [{ prompt: 'abc', response: 'hello' }] });
    expect(r.json().rewards).toEqual([score.json().results[0].reward]); // 7.5, as in the first test
  });
});

describe('bad input: 4xx naming the field, never a crash', () => {
  const cases: [string, string, unknown, number, string, string | RegExp][] = [
    ['wrong type', '/v1/score', { items: [{ response: 5 }] }, 400, 'ALIGNKIT_ERR_BAD_REQUEST', 'body.items[0].response'],
    ['message without content', '/v1/score', { items: [{ response: [{ role: 'assistant' }] }] }, 400, 'ALIGNKIT_ERR_BAD_REQUEST', 'body.items[0].response[0].content'],
    ['TEI input of no known shape', '/predict', { inputs: [['a'], 5] }, 400, 'ALIGNKIT_ERR_BAD_REQUEST', 'body.inputs'],
    ['missing items', '/v1/score', { item: [] }, 400, 'ALIGNKIT_ERR_BAD_REQUEST', /^body\.(items|item)$/],
    ['no items', '/v1/score', { items: [] }, 400, 'ALIGNKIT_ERR_BAD_REQUEST', 'body.items'],
    ['unknown field', '/v1/score', { items: [{ response: 'a', respone: 'b' }] }, 400, 'ALIGNKIT_ERR_BAD_REQUEST', 'body.items[0].respone'],
    ['text over the limit', '/v1/score', { items: [{ response: 'x'.repeat(101) }] }, 400, 'ALIGNKIT_ERR_BAD_REQUEST', 'body.items[0].response'],
    ['bad combine', '/v1/score', { items: [{ response: 'a' }], combine: 'median' }, 400, 'ALIGNKIT_ERR_BAD_REQUEST', 'body.combine'],
    ['client batch over the cap', '/v1/score', { items: Array(5).fill({ response: 'a' }) }, 413, 'ALIGNKIT_ERR_BATCH_TOO_LARGE', 'items'],
    ['unknown model', '/v1/score', { items: [{ response: 'a' }], models: ['len', 'nope'] }, 404, 'ALIGNKIT_ERR_UNKNOWN_MODEL', 'models[1]'],
    ['one response to compare', '/v1/compare', { responses: ['a'] }, 400, 'ALIGNKIT_ERR_BAD_REQUEST', 'body.responses'],
    ['TEI empty text', '/predict', { inputs: '' }, 400, 'ALIGNKIT_ERR_BAD_REQUEST', 'body.inputs'],
    ['OpenRLHF query not a list', '/get_reward', { query: 'abc' }, 400, 'ALIGNKIT_ERR_BAD_REQUEST', 'body.query'],
  ];
  it.each(cases)('%s', async (_name, url, payload, status, code, field) => {
    const r = await post(url, payload);
    expect(r.statusCode).toBe(status);
    const body = r.json();
    expect(body.code).toBe(code);
    expect(body.field).toMatch(field);
    expect(body.error).toContain(typeof field === 'string' ? field : body.field);
    expect(body.requestId).toBe(r.headers['x-request-id']);
  });

  it('says what a value of the wrong type may be', async () => {
    const r = await post('/v1/score', { items: [{ response: 5 }] });
    expect(r.json().error).toBe("body.items[0].response must be a string, or a list of chat messages {role, content} (rendered by the model's chat template)");
  });

  it('malformed JSON is a 400 naming the body', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/score', payload: '{"items": [', headers: { 'content-type': 'application/json' } });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ code: 'ALIGNKIT_ERR_BAD_REQUEST', field: 'body', error: 'body is not valid JSON' });
  });

  it('a prototype-poisoning body is a 400, not a crash', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/score', payload: '{"__proto__": {"x": 1}, "items": [{"response": "a"}]}', headers: { 'content-type': 'application/json' } });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ code: 'ALIGNKIT_ERR_BAD_REQUEST', field: 'body' });
  });

  it('a body that is not JSON is a 415 naming the body', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/score', payload: 'items=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(r.statusCode).toBe(415);
    expect(r.json()).toMatchObject({ code: 'ALIGNKIT_ERR_BAD_REQUEST', field: 'body' });
  });

  it('a body over the payload limit is a 413 naming the body', async () => {
    const r = await post('/v1/score', { items: [{ response: 'x'.repeat(5000) }] });
    expect(r.statusCode).toBe(413);
    expect(r.json()).toMatchObject({ code: 'ALIGNKIT_ERR_TOO_LONG', field: 'body' });
    expect(r.json().error).toContain('4096-byte');
  });

  it('an unknown route is a JSON 404', async () => {
    const r = await app.inject('/v2/score');
    expect(r.statusCode).toBe(404);
    expect(r.json().code).toBe('ALIGNKIT_ERR_NOT_FOUND');
  });

  it('an unexpected failure is a 500 with the request id and no internals', async () => {
    // `len` throws a plain Error for items longer than 200 characters: not an AlignkitError.
    const turn = { role: 'user', content: 'u'.repeat(90) };
    const r = await post('/v1/score', { items: [{ prompt: [turn, turn, turn], response: 'r' }], models: ['len'] });
    expect(r.statusCode).toBe(500);
    expect(r.json().code).toBe('ALIGNKIT_ERR_INTERNAL');
    expect(r.json().error).toContain(r.json().requestId);
    expect(r.json().error).not.toMatch(/longer than|Error|at /);
    expect((await app.inject('/healthz')).statusCode).toBe(200);
  });
});

describe('OpenAPI', () => {
  it('documents every route with its schemas', async () => {
    const doc = (await app.inject('/docs/json')).json();
    expect(Object.keys(doc.paths).sort()).toEqual(['/get_reward', '/healthz', '/metrics', '/predict', '/readyz', '/v1/compare', '/v1/models', '/v1/score']);
    expect(doc.paths['/v1/score'].post.requestBody.content['application/json'].schema.required).toEqual(['items']);
    expect((await app.inject('/docs')).statusCode).toBeLessThan(400);
  });
});

describe('concurrency cap', () => {
  it('answers 429 when every permit is taken, and recovers', async () => {
    const small = buildServer({ rewardModels: await models(), config: { maxConcurrent: 1, batchWindowMs: 150 } });
    await small.ready();
    try {
      const first = small.inject({ method: 'POST', url: '/v1/score', payload: { items: [{ response: 'a' }] } });
      await new Promise((r) => setTimeout(r, 30));
      const second = await small.inject({ method: 'POST', url: '/v1/score', payload: { items: [{ response: 'b' }] } });
      expect(second.statusCode).toBe(429);
      expect(second.json()).toMatchObject({ code: 'ALIGNKIT_ERR_OVERLOADED', error_type: 'overloaded', field: 'maxConcurrent' });
      expect(second.json().error).toContain('1 concurrent');
      expect((await first).statusCode).toBe(200);
      expect((await small.inject({ method: 'POST', url: '/v1/score', payload: { items: [{ response: 'c' }] } })).statusCode).toBe(200);
    } finally {
      await small.close();
    }
  });
});

describe('extension plugins', () => {
  it('get the scoring service, the error handler and the OpenAPI document', async () => {
    const extra = buildServer({
      rewardModels: await models(),
      plugins: [
        async (p) => {
          p.post<{ Body: { text: string } }>('/v1/extra', {
            schema: { body: { type: 'object', required: ['text'], properties: { text: { type: 'string', minLength: 1 } } } },
          }, async (request) => {
            if (request.body.text === 'bad') throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'text: bad is not allowed', { field: 'text' });
            const s = await p.scoring.score([{ prompt: '', response: request.body.text }], { models: ['len'] });
            return { reward: s.rewards[0] };
          });
        },
      ],
    });
    await extra.ready();
    try {
      expect((await extra.inject({ method: 'POST', url: '/v1/extra', payload: { text: 'abc' } })).json()).toEqual({ reward: 5 });
      expect((await extra.inject({ method: 'POST', url: '/v1/extra', payload: { text: 'bad' } })).json()).toMatchObject({ statusCode: 400, field: 'text', code: 'ALIGNKIT_ERR_INVALID_ARGUMENT' });
      expect((await extra.inject({ method: 'POST', url: '/v1/extra', payload: {} })).json()).toMatchObject({ statusCode: 400, field: 'body.text' });
      expect(Object.keys((await extra.inject('/docs/json')).json().paths)).toContain('/v1/extra');
    } finally {
      await extra.close();
    }
  });
});
