// autocannon (a devDependency) driving real sockets, for the slow reliability and replica tests:
// statuses counted one by one (autocannon's own totals lump 503 with 500), client time-outs and
// socket errors counted apart.
import { createRequire } from 'node:module';

export interface LoadOptions {
  url: string;
  connections: number;
  /** Seconds. */
  duration: number;
  /** Client time-out in seconds: a request not answered by then is dropped and its socket closed. */
  timeout?: number;
  path: string;
  bodies: string[];
}

export interface LoadResult {
  requests: number;
  statuses: Record<number, number>;
  timeouts: number;
  /** Socket errors other than time-outs (refused or reset connections). */
  errors: number;
}

interface AutocannonResult {
  /** Socket errors, time-outs included. */
  errors: number;
  timeouts: number;
}

type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
// autocannon is CommonJS without type declarations; only the options used here are typed.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export async function load(opts: LoadOptions): Promise<LoadResult> {
  const statuses: Record<number, number> = {};
  let next = 0;
  const result = await autocannon({
    url: opts.url,
    connections: opts.connections,
    duration: opts.duration,
    timeout: opts.timeout ?? 10,
    requests: [{
      method: 'POST',
      path: opts.path,
      headers: { 'content-type': 'application/json' },
      setupRequest: (request: object) => ({ ...request, body: opts.bodies[next++ % opts.bodies.length] }),
      onResponse: (status: number) => {
        statuses[status] = (statuses[status] ?? 0) + 1;
      },
    }],
  });
  const answered = Object.values(statuses).reduce((a, b) => a + b, 0);
  return { requests: answered + result.errors, statuses, timeouts: result.timeouts, errors: result.errors - result.timeouts };
}
