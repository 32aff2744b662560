// Regression tests for #12 §1, "client mistakes are 4xx everywhere": paths that @fastify/static
// refuses with a 403 (a path leaving its root, a NUL byte) answered 500 because the error handler
// ignored a plugin error's statusCode. The URLs go over a raw socket exactly as written (inject and
// fetch would normalise `..` away). And the one error envelope, exported for other route groups,
// gives a plugin the same answers on any Fastify host.
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, errorEnvelope, errorHandler, sendError, useStrictValidation } from '../../src/serve/index.js';
import { LinearRewardModel } from '../rewards/support/linear-reward-model.js';
import { connect, readUntilClose } from './support/sockets.js';

let app: FastifyInstance;

beforeAll(async () => {
  app = buildServer({ rewardModels: [await LinearRewardModel.create('len', ['score'], [[1], [2], [-1]])] });
  await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(() => app?.close());

async function rawGet(url: string): Promise<{ status: number; body: string }> {
  const socket = await connect(app);
  const answer = readUntilClose(socket);
  socket.write(`GET ${url} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
  const text = await answer;
  return { status: Number(text.slice(9, 12)), body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

describe('paths outside the docs root', () => {
  const urls = [
    '/docs/static/../package.json',
    '/docs/static/%2e%2e/package.json',
    '/docs/static/%2e%2e/%2e%2e/package.json',
    '/docs/static//etc/passwd',
    '//etc/passwd',
    '/docs/static/%00../package.json',
    '/docs/static/..%2f..%2fpackage.json',
  ];
  it.each(urls)('%s is a 4xx in the error envelope, never a 500', async (url) => {
    const r = await rawGet(url);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    const body = JSON.parse(r.body);
    expect(body).toMatchObject({ statusCode: r.status, error_type: 'validation' });
    expect(body.code).toMatch(/^ALIGNKIT_ERR_(FORBIDDEN|NOT_FOUND|BAD_REQUEST)$/);
    expect(body.error).not.toMatch(/package\.json"|\/work\/|node_modules/);
  });

  it('the docs themselves are still served', async () => {
    expect((await rawGet('/docs/static/index.html')).status).toBeLessThan(400);
    expect((await rawGet('/docs/json')).status).toBe(200);
  });
});

// A URL that does not percent-decode (`%c0%ae` is an overlong UTF-8 dot, `%ff` no UTF-8 at all)
// never reaches a route or the error handler: fastify answered it with its own body
// (`{"error":"Bad Request","code":"FST_ERR_BAD_URL",...}`), outside the envelope, with no request id.
describe('URLs that do not decode', () => {
  const urls = ['/docs/static/%c0%ae%c0%ae/package.json', '/v1/score/%ff', '/%', '/docs/static/%'];
  it.each(urls)('%s is a 400 in the error envelope, with the request id', async (url) => {
    const r = await rawGet(url);
    expect(r.status).toBe(400);
    const body = JSON.parse(r.body);
    expect(body).toMatchObject({ statusCode: 400, error_type: 'validation', code: 'ALIGNKIT_ERR_BAD_REQUEST', field: 'url' });
    expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.error).toContain('not a valid url component');
  });
});

describe('the exported error envelope', () => {
  let host: FastifyInstance;
  beforeAll(async () => {
    // A plain Fastify() with its default (coercing) validator: the plugin brings its own conventions.
    host = Fastify();
    await host.register(async (plugin) => {
      useStrictValidation(plugin);
      plugin.setErrorHandler(errorHandler());
      plugin.post<{ Body: { id: string } }>('/labels', {
        schema: { body: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1 } } } },
      }, async (request, reply) => {
        if (request.body.id === 'taken') return reply.status(409).send(errorEnvelope(request, { status: 409, code: 'ALIGNKIT_ERR_INVALID_ARGUMENT', message: 'id: taken is already used', field: 'id' }));
        if (request.body.id === 'conflict') throw Object.assign(new Error('already there'), { statusCode: 409 });
        if (request.body.id === 'boom') return sendError(reply, new Error('SQLITE_CONSTRAINT at /var/lib/x.db'));
        return { id: request.body.id };
      });
    });
    await host.ready();
  });
  afterAll(() => host?.close());
  const post = (payload: object) => host.inject({ method: 'POST', url: '/labels', payload });

  it('validates strictly on any host: a number is not coerced into a string id', async () => {
    const r = await post({ id: 123 });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ code: 'ALIGNKIT_ERR_BAD_REQUEST', field: 'body.id', error_type: 'validation' });
    expect((await post({ id: 'a', extra: 1 })).json()).toMatchObject({ statusCode: 400, field: 'body.extra' });
    expect((await post({ id: 'a' })).json()).toEqual({ id: 'a' });
  });

  it('gives a plugin error with a 4xx statusCode that status, and keeps 5xx details in the log', async () => {
    expect((await post({ id: 'taken' })).json()).toMatchObject({ statusCode: 409, field: 'id', error: 'id: taken is already used' });
    const conflict = await post({ id: 'conflict' });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({ code: 'ALIGNKIT_ERR_BAD_REQUEST', error: 'POST /labels: already there' });
    const boom = await post({ id: 'boom' });
    expect(boom.statusCode).toBe(500);
    expect(boom.json()).toMatchObject({ code: 'ALIGNKIT_ERR_INTERNAL', error_type: 'backend' });
    expect(boom.json().error).toContain(boom.json().requestId);
    expect(boom.json().error).not.toMatch(/SQLITE|\/var/);
  });
});
