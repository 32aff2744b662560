// The PyTorch side of the training benches: a long-lived python3 child that runs N steps of its
// script per request (one line `N` in, one JSON line {ms: [...], maxRssKb} out), so torch and
// alignkit can alternate in rounds within one run. Torch gets 2 threads and OMP_WAIT_POLICY=PASSIVE
// (../shared/DESIGN.md: 2.6x faster here than the default busy-waiting).
import { spawn, spawnSync } from 'node:child_process';
import readline from 'node:readline';

/** A python3 that imports torch (Debian's python3-torch lives in /usr/bin), or undefined. */
export function findTorchPython() {
  for (const py of ['python3', '/usr/bin/python3']) if (spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return py;
  return undefined;
}

/** Starts `script` with `args` under torch's python, or returns undefined when torch is absent. */
export function startTorchPeer(script, args) {
  const python = findTorchPython();
  if (!python) return undefined;
  const child = spawn(python, [script, ...args.map(String)], {
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', OMP_NUM_THREADS: '2', MKL_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '2' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    python,
    async steps(n) {
      child.stdin.write(`${n}\n`);
      const { value } = await lines.next();
      return JSON.parse(value);
    },
    close() {
      child.stdin.end();
    },
  };
}
