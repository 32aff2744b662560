// The concurrency cap of text-embeddings-inference (`try_acquire_permit` in core/src/infer.rs): a
// request that finds every permit taken is refused at once with a 429 rather than queued without
// bound, so an overloaded server sheds load instead of growing latency for everyone.
// Routes opt in with `config: { limited: true }`.
//
// A permit must come back exactly once whichever way the request ends (request-end.ts): tied to
// Fastify's onResponse/onRequestAbort alone, permits leaked on every client time-out, SSE
// disconnect and short Content-Length until the server answered 429 to everything.

import type { FastifyInstance } from 'fastify';
import { fail } from '../errors.js';
import { onRequestEnd } from './request-end.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Counts against the server's concurrency cap. */
    limited?: boolean;
  }
}

/** One taken permit; `release` gives it back the first time and does nothing afterwards. */
export interface Permit {
  release(): void;
}

export class ConcurrencyLimiter {
  private held = 0;
  constructor(readonly max: number) {}

  /** Permits taken and not yet released. */
  get inFlight(): number {
    return this.held;
  }

  /** Permits still free. */
  get free(): number {
    return this.max - this.held;
  }

  /** A permit, or undefined when every one is taken. */
  tryAcquire(): Permit | undefined {
    if (this.held >= this.max) return undefined;
    this.held++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.held--;
      },
    };
  }
}

export function installLimiter(app: FastifyInstance, limiter: ConcurrencyLimiter): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!request.routeOptions.config.limited) return;
    const permit = limiter.tryAcquire();
    if (!permit) throw fail('ALIGNKIT_ERR_OVERLOADED', `the server is at its limit of ${limiter.max} concurrent requests; retry later`, { field: 'maxConcurrent' });
    onRequestEnd(request, reply, permit.release);
  });
}
