// Peers as child processes speaking JSON lines (one `hello` line when built, then one answer line per
// request line), so alignkit and PyTorch are measured the same way: start-up from spawn, steps on
// request, peak RSS of their own process. The PyTorch peer gets the environment a user would give
// it (../shared/DESIGN.md "Fair torch peers"): OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset in its
// own command only, so OpenBLAS picks the CPU's kernels (AVX-512 on the Zen 5, where the pinned
// Haswell kernels ran sgemm at half speed), 2 threads, OMP_WAIT_POLICY=PASSIVE (2.6x faster here
// than busy-waiting). `pinned` reproduces the handicapped configuration for a second line.
import { spawn, spawnSync } from 'node:child_process';
import readline from 'node:readline';
import { loadAverage } from './machine.mjs';

/** A python3 that imports torch (Debian's python3-torch lives in /usr/bin), or undefined. */
export function findTorchPython() {
  for (const py of ['/usr/bin/python3', 'python3']) if (spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return py;
  return undefined;
}

/** The environment's OpenBLAS pin, if it sets one (what a handicapped peer runs with). */
export const environmentPin = () => process.env.OPENBLAS_CORETYPE;

/** A peer's environment: the machine's thread count, passive OpenMP waiting, OpenBLAS unpinned unless `pinned` names a core. */
export function torchEnv({ threads = 2, pinned } = {}) {
  const env = { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  if (pinned) {
    env.OPENBLAS_CORETYPE = pinned;
    if (process.env.OPENBLAS_L2_SIZE) env.OPENBLAS_L2_SIZE = process.env.OPENBLAS_L2_SIZE;
  }
  return env;
}

/**
 * Spawn a JSON-lines peer. Resolves once its `hello` line arrives, with `startMs` (spawn to hello:
 * interpreter start, imports, model build or load, session creation).
 */
export async function startPeer(command, args, env = process.env) {
  const spawned = performance.now();
  const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`${command} ${args[0]} exited before answering`);
    return JSON.parse(value);
  };
  const first = await next();
  return {
    hello: first.hello,
    maxRssKb: first.maxRssKb,
    startMs: performance.now() - spawned,
    async request(req) {
      child.stdin.write(`${JSON.stringify(req)}\n`);
      return next();
    },
    async close() {
      const last = await this.request({ op: 'exit' });
      child.stdin.end();
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
      return last;
    },
  };
}

/** The PyTorch peer (bench/torch_peer.py) with `config`, or undefined when torch does not import. */
export async function startTorchPeer(script, config, opts = {}) {
  const python = findTorchPython();
  if (!python) return undefined;
  const peer = await startPeer(python, [script, JSON.stringify(config)], torchEnv({ threads: config.threads, pinned: opts.pinned }));
  return { ...peer, python };
}

/**
 * The child side of the protocol: print `hello`, then answer each request line with its op's
 * handler (every answer carries the process's peak RSS so far); `exit` answers and ends the process
 * after `onExit`.
 */
export async function servePeer(hello, handlers, onExit = async () => {}) {
  const reply = (obj) => process.stdout.write(`${JSON.stringify({ ...obj, maxRssKb: process.resourceUsage().maxRSS })}\n`);
  reply({ hello });
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const req = JSON.parse(line);
    if (req.op === 'exit') {
      await onExit();
      reply({});
      process.exit(0);
    }
    const handler = handlers[req.op];
    if (!handler) throw new Error(`peer has no op ${req.op}`);
    reply(await handler(req));
  }
}

/**
 * A `run` handler: `work` n times, each timed; answers the times, the process's CPU time of each
 * (user + system, every thread: on one intra-op thread it excludes the time other processes held the
 * core) and the last run's result as `result`.
 */
export function timedRuns(work) {
  return async ({ n }) => {
    const ms = [];
    const cpuMs = [];
    let result;
    for (let i = 0; i < n; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      result = await work();
      ms.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpuMs.push((c.user + c.system) / 1000);
    }
    return { ms, cpuMs, result };
  };
}

/**
 * Alternate `request` over the peers for `rounds` rounds (drift on this machine cancels between
 * neighbours); per peer the mean time of each round's answer (and its mean CPU time, `cpuSamples`,
 * where the peer reports one), the answers, and the 1-minute load after each round.
 */
export async function alternateRounds(peers, rounds, request) {
  const samples = Object.fromEntries(Object.keys(peers).map((k) => [k, []]));
  const cpuSamples = Object.fromEntries(Object.keys(peers).map((k) => [k, []]));
  const mean = (xs) => xs.reduce((x, y) => x + y, 0) / xs.length;
  const last = {};
  const loads = [];
  for (let r = 0; r < rounds; r++) {
    for (const [name, p] of Object.entries(peers)) {
      const out = await p.request(request);
      samples[name].push(mean(out.ms));
      if (out.cpuMs) cpuSamples[name].push(mean(out.cpuMs));
      last[name] = out;
    }
    loads.push(loadAverage()[0]);
  }
  return { samples, cpuSamples, last, loads };
}
