// A client of OpenRLHF's remote reward protocol (openrlhf/utils/remote_rm_utils.py remote_rm_fn):
// POST {"query": [full prompt + response texts], "prompts": [the prompts]} to the server's
// /get_reward, read "rewards". Any OpenRLHF reward server answers it, and so does `alignkit serve`
// (src/serve/routes/openrlhf.ts), which splits each query after its prompt and scores it exactly as
// a local reward model scores {prompt, response}; rollouts can be scored on another machine.
// Queries go in batches of at most `batchSize` (halved when the server answers 413: its client
// batch cap, alignkit's --max-client-batch); a failed request is retried a few times as OpenRLHF
// does, then fails naming the URL and the answer.

import { fail } from '../../errors.js';

export interface RemoteRewardOptions {
  /** Queries per request (default 32, alignkit serve's default --max-client-batch). */
  batchSize?: number;
  /** Attempts per request before failing (OpenRLHF retries too). */
  attempts?: number;
  timeoutMs?: number;
}

/** One text to score: the full prompt + response, and its prompt (newer OpenRLHF sends both). */
export interface RemoteQuery {
  query: string;
  prompt: string;
}

async function post(url: string, chunk: RemoteQuery[], timeoutMs: number): Promise<number[]> {
  const query = chunk.map((c) => c.query);
  const payload = JSON.stringify({ query, prompts: chunk.map((c) => c.prompt) });
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (!res.ok) throw fail('ALIGNKIT_ERR_JUDGE', `reward server ${url} answered ${res.status}: ${text.slice(0, 300)}`, { url, status: res.status });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw fail('ALIGNKIT_ERR_JUDGE', `reward server ${url} answered something that is not JSON: ${text.slice(0, 200)}`, { url }, e);
  }
  const rewards = (body as { rewards?: unknown }).rewards;
  if (!Array.isArray(rewards) || rewards.length !== query.length || rewards.some((r) => typeof r !== 'number' || !Number.isFinite(r)))
    throw fail('ALIGNKIT_ERR_JUDGE', `reward server ${url} must answer {"rewards": [${query.length} finite numbers]}, got ${text.slice(0, 200)}`, { url });
  return rewards as number[];
}

const statusOf = (e: unknown) => (e as { details?: { status?: number } }).details?.status;

/**
 * Scores full texts through a remote /get_reward, in order. A 413 (more queries than the server
 * takes per request: alignkit serve's --max-client-batch, TEI's cap) halves the batch and tries
 * again, and the smaller size is kept; another 4xx fails at once (the same request would fail again).
 */
export function remoteReward(url: string, opts: RemoteRewardOptions = {}): (queries: RemoteQuery[]) => Promise<number[]> {
  let batch = opts.batchSize ?? 32;
  const attempts = opts.attempts ?? 3;
  const timeout = opts.timeoutMs ?? 120_000;
  const send = async (chunk: RemoteQuery[]): Promise<number[]> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await post(url, chunk, timeout);
      } catch (e) {
        const status = statusOf(e);
        if (status === 413 && chunk.length > 1) {
          batch = Math.max(1, Math.floor(chunk.length / 2));
          const half = chunk.length >> 1;
          return [...(await send(chunk.slice(0, half))), ...(await send(chunk.slice(half)))];
        }
        if (attempt >= attempts || (status !== undefined && status < 500)) {
          if ((e as { code?: string }).code === 'ALIGNKIT_ERR_JUDGE') throw e;
          throw fail('ALIGNKIT_ERR_JUDGE', `reward server ${url} did not answer after ${attempt} attempts: ${(e as Error).message}`, { url }, e);
        }
      }
    }
  };
  return async (queries) => {
    const out: number[] = [];
    for (let at = 0; at < queries.length; ) {
      const chunk = queries.slice(at, at + batch);
      out.push(...(await send(chunk)));
      at += chunk.length;
    }
    return out;
  };
}
