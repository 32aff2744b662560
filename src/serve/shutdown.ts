// Graceful shutdown, as a replica behind a load balancer needs it: on `drain()` (SIGTERM in
// `alignkit serve`) readiness turns false at once, and after `drainDelayMs` (time for a balancer
// polling readiness to take the replica out) the server stops accepting connections, answers every
// request already on its way (each with `Connection: close`, so keep-alive clients such as nginx
// move to another replica), and only then closes its sockets and its model workers. Requests still
// running after `shutdownTimeoutMs` are cut off.
//
// The same sequence runs on a plain `app.close()` (a `preClose` hook), so a library user's close is
// graceful too. Fastify's own behaviour during close (a 503 to every request arriving on an open
// keep-alive connection) is switched off in app.ts: those requests are answered, not refused.

import type { FastifyInstance } from 'fastify';
import { onRequestEnd } from './request-end.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** True from the moment the server starts shutting down: readiness answers 503. */
    draining: boolean;
  }
}

export interface ShutdownConfig {
  /** Wait this long between readiness turning false and refusing new connections. */
  drainDelayMs: number;
  /** Longest wait for in-flight requests once the server stops accepting. */
  shutdownTimeoutMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when `p` does or after `ms`, whichever is first, leaving no timer behind. */
async function within(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** Tracks every request in flight (not only limited ones) and drains them on close. */
export function installGracefulClose(app: FastifyInstance, cfg: ShutdownConfig): void {
  let active = 0;
  let idle: (() => void) | undefined;
  app.decorate('draining', false);

  app.addHook('onRequest', async (request, reply) => {
    active++;
    onRequestEnd(request, reply, () => {
      if (--active === 0) idle?.();
    });
  });

  // While draining, every answer closes its connection after it is sent.
  app.addHook('onSend', async (_request, reply) => {
    if (app.draining) reply.header('connection', 'close');
  });

  app.addHook('preClose', async () => {
    app.draining = true;
    if (!app.server.listening) return;
    // Stop accepting; Node also closes the keep-alive connections that are idle right now.
    app.server.close();
    if (active > 0) {
      await within(new Promise<void>((resolve) => (idle = resolve)), cfg.shutdownTimeoutMs);
    }
    // What is left is idle (keep-alive, or opened and never used) or over the time-out.
    app.server.closeAllConnections();
  });
}

/**
 * Drains and closes `app`: readiness false now, new connections refused after `drainDelayMs`,
 * in-flight requests answered, then sockets and workers closed.
 */
export async function drain(app: FastifyInstance, cfg: ShutdownConfig): Promise<void> {
  app.draining = true;
  if (cfg.drainDelayMs > 0) await sleep(cfg.drainDelayMs);
  await app.close();
}
