// Annotator servers in child processes and annotators driving them over HTTP, for the durability
// and quota tests: real sockets, real kill -9.

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { openLabelStore } from '../../src/routing/store/index.js';

const SCRIPT = path.join(import.meta.dirname, 'durability-server.ts');
const REGISTER = path.resolve(import.meta.dirname, '../../src/dev/register-ts.mjs');

/** Pairs all routed to humans and annotators with their keys, written to the store at `location`. */
export async function seedStore(location: string, pairCount: number, annotatorCount: number) {
  const store = await openLabelStore(location);
  try {
    const pairs = Array.from({ length: pairCount }, (_, i) => ({ id: `d${i}`, prompt: `prompt ${i}`, responseA: `a ${i}`, responseB: `b ${i}` }));
    await store.addPairs(pairs);
    await store.recordRouting({ strategy: 'random', budget: 1 }, pairs.map((p, i) => ({ pairId: p.id, route: 'human' as const, gain: i % 7 })));
    const annotators = [];
    for (let i = 0; i < annotatorCount; i++) annotators.push(await store.createAnnotator(`annotator ${i}`, `ann${i}`));
    return { pairIds: pairs.map((p) => p.id), annotators };
  } finally {
    await store.close();
  }
}

export interface AnnotatorServer {
  address: string;
  child: ChildProcess;
  /** kill -9; resolves once the process is gone. */
  kill(): Promise<void>;
}

export async function startServer(location: string, labelsPerPair: number): Promise<AnnotatorServer> {
  const child = spawn(process.execPath, ['--import', REGISTER, SCRIPT, location, String(labelsPerPair)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`annotator server exited early with ${code}`)));
  });
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    address: (JSON.parse(line) as { address: string }).address,
    child,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await gone;
    },
  };
}

export interface Ack {
  annotatorId: string;
  pairId: string;
  scale: number;
}

/**
 * One annotator working through the queue: GET /next, POST /labels, until no pair is left or
 * `stop()` says so. Requests go to whichever server `pick()` returns; a request cut off by a
 * killed server is retried. Every 201 is recorded in `acks`, every pair handed out in `handed`.
 */
export async function annotate(
  annotator: { id: string; apiKey: string },
  pick: () => string,
  acks: Ack[],
  handed: Map<string, Set<string>>,
  stop: () => boolean = () => false,
): Promise<void> {
  const headers = { 'content-type': 'application/json', 'x-api-key': annotator.apiKey };
  let n = 0;
  while (!stop()) {
    try {
      const next = await fetch(`${pick()}/routing/next`, { headers });
      if (next.status !== 200) throw new Error(`GET /next answered ${next.status}: ${await next.text()}`);
      const { pair } = (await next.json()) as { pair: { id: string } | null };
      if (!pair) return;
      handed.set(pair.id, (handed.get(pair.id) ?? new Set()).add(annotator.id));
      const scale = (n++ % 5) - 2;
      const res = await fetch(`${pick()}/routing/labels`, { method: 'POST', headers, body: JSON.stringify({ pairId: pair.id, scale, confidence: 1 }) });
      if (res.status === 201) acks.push({ annotatorId: annotator.id, pairId: pair.id, scale });
      else if (res.status !== 200) throw new Error(`POST /labels answered ${res.status}: ${await res.text()}`);
    } catch (e) {
      // A server killed mid-request: fetch fails with a network error; try again.
      if (!(e instanceof TypeError)) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
