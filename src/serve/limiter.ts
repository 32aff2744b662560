// The concurrency cap of text-embeddings-inference (`try_acquire_permit` in core/src/infer.rs): a
// request that finds every permit taken is refused at once with a 429 rather than queued without
// bound, so an overloaded server sheds load instead of growing latency for everyone.
// Routes opt in with `config: { limited: true }`; permits are released when the response is sent
// or the client goes away.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fail } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Counts against the server's concurrency cap. */
    limited?: boolean;
  }
}

export class ConcurrencyLimiter {
  inFlight = 0;
  constructor(readonly max: number) {}

  tryAcquire(): boolean {
    if (this.inFlight >= this.max) return false;
    this.inFlight++;
    return true;
  }

  release(): void {
    this.inFlight--;
  }
}

export function installLimiter(app: FastifyInstance, limiter: ConcurrencyLimiter): void {
  const holders = new WeakSet<FastifyRequest>();
  const release = async (request: FastifyRequest) => {
    if (holders.delete(request)) limiter.release();
  };
  app.addHook('onRequest', async (request) => {
    if (!request.routeOptions.config.limited) return;
    if (!limiter.tryAcquire())
      throw fail('ALIGNKIT_ERR_OVERLOADED', `the server is at its limit of ${limiter.max} concurrent requests; retry later`, { field: 'maxConcurrent' });
    holders.add(request);
  });
  app.addHook('onResponse', release);
  app.addHook('onRequestAbort', release);
}
