// The one moment a request ends, whichever way it ends. Fastify's own hooks do not cover every
// way: `onResponse` runs only on the response's 'finish' (not when the socket closes before the
// answer is written: a client time-out, an SSE client gone, a socket Node destroys for the garbage
// after a short Content-Length; nor for a hijacked reply), and `onRequestAbort` only when the client
// leaves before its body is complete. Node's ServerResponse emits 'close' in every case (after
// 'finish', or when the connection goes away first); the request's and response's 'error' events
// cover the rest. Used for concurrency permits and for the in-flight count a drain waits on.

import type { FastifyReply, FastifyRequest } from 'fastify';

/** Calls `fn` exactly once, when `request` has ended: answered, abandoned, or failed. */
export function onRequestEnd(request: FastifyRequest, reply: FastifyReply, fn: () => void): void {
  let done = false;
  const end = () => {
    if (done) return;
    done = true;
    fn();
  };
  reply.raw.once('close', end);
  reply.raw.once('error', end);
  request.raw.once('error', end);
}
