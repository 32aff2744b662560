// #18 §3: two `alignkit serve` processes behind Debian's nginx, configured with deploy/nginx.conf
// (the file compose.yaml mounts and the README shows), and a load run through nginx during which
// each replica in turn is stopped with SIGTERM (it drains) and started again: not one request may
// fail through the balancer. nginx is started here on a free local port with its configuration in
// a temporary directory (never the system service); without the binary (`apt-get install -y nginx`) the test fails, saying so.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { load } from './support/load.js';
import { sleep } from './support/sockets.js';

const REGISTER = path.join(REPO_ROOT, 'src/dev/register-ts.mjs');
const MAIN = path.join(REPO_ROOT, 'src/cli/main.ts');
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));

/**
 * deploy/nginx.conf (the file compose.yaml mounts and the README shows), listening on `listen`, its
 * scoring upstream pointed at the local replicas and its annotate upstream at `unused`: every
 * compose service name it holds must be replaced, or nginx would refuse to start.
 */
function recipe(listen: number, a: number, b: number, unused: number): string {
  const conf = fs.readFileSync(path.join(REPO_ROOT, 'deploy/nginx.conf'), 'utf8');
  const local: Record<string, number> = { 'scoring-1:8080': a, 'scoring-2:8080': b, 'annotate-1:8090': unused, 'annotate-2:8090': unused };
  const out = conf.replace(/^(\s*server )([\w.-]+:\d+)/gm, (all, lead: string, host: string) => {
    if (!(host in local)) throw new Error(`deploy/nginx.conf names upstream server ${host}, which this test does not know`);
    return `${lead}127.0.0.1:${local[host]}`;
  });
  if (!/^\s*listen 8080;$/m.test(out)) throw new Error('deploy/nginx.conf has no "listen 8080;"');
  return out.replace(/listen 8080;/, `listen 127.0.0.1:${listen};`);
}

interface Replica {
  port: number;
  child: ChildProcess;
  log: string[];
}

async function startReplica(port: number): Promise<Replica> {
  const log: string[] = [];
  const child = spawn(process.execPath, ['--import', REGISTER, MAIN, 'serve', '--port', String(port), '--host', '127.0.0.1'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => log.push(String(d)));
  child.stderr!.on('data', (d) => log.push(String(d)));
  const end = Date.now() + 120_000;
  while (!log.join('').includes('listening on')) {
    if (child.exitCode !== null || Date.now() > end) throw new Error(`replica on port ${port} did not start: ${log.join('')}`);
    await sleep(50);
  }
  return { port, child, log };
}

/** SIGTERM, then the exit code once it has drained. */
async function stopReplica(r: Replica): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => r.child.once('exit', (code) => resolve(code)));
  r.child.kill('SIGTERM');
  return exited;
}

let dir: string;
let nginx: ChildProcess | undefined;
let replicas: Replica[] = [];
let url: string;

beforeAll(async () => {
  if (!NGINX) throw new Error('nginx is not installed: the replicas test needs Debian\'s nginx (apt-get install -y nginx)');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-nginx-'));
  const [listen, a, b, unused] = [await freePort(), await freePort(), await freePort(), await freePort()];
  replicas = await Promise.all([startReplica(a), startReplica(b)]);
  const temp = (name: string) => `${name}_temp_path ${path.join(dir, name)};`;
  fs.writeFileSync(path.join(dir, 'nginx.conf'), `worker_processes 1;
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}
${recipe(listen, a, b, unused)}
}
`);
  const check = spawnSync(NGINX, ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx -t refused the configuration: ${check.stderr}`);
  nginx = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log'), '-g', 'daemon off;'], { stdio: 'inherit' });
  url = `http://127.0.0.1:${listen}`;
  const end = Date.now() + 30_000;
  while ((await fetch(`${url}/readyz`).then((r) => r.status, () => 0)) !== 200) {
    if (Date.now() > end) throw new Error('nginx did not answer /readyz through the replicas');
    await sleep(100);
  }
});

afterAll(async () => {
  for (const r of replicas) if (r.child.exitCode === null) await stopReplica(r);
  if (nginx && nginx.exitCode === null) {
    const exited = new Promise((resolve) => nginx!.once('exit', resolve));
    nginx.kill('SIGTERM');
    await exited;
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('two replicas behind nginx', () => {
  it('a rolling restart under load fails no request through the balancer', async () => {
    const bodies = Array.from({ length: 32 }, (_, i) => JSON.stringify({ items: [{ prompt: `Question ${i}?`, response: `Answer number ${i}.` }] }));
    const restarts: { port: number; exitCode: number | null; drainedMs: number; downMs: number }[] = [];
    const rolling = (async () => {
      for (let i = 0; i < replicas.length; i++) {
        await sleep(4000);
        const old = replicas[i]!;
        const t0 = Date.now();
        const exitCode = await stopReplica(old);
        const drainedMs = Date.now() - t0;
        replicas[i] = await startReplica(old.port);
        restarts.push({ port: old.port, exitCode, drainedMs, downMs: Date.now() - t0 });
      }
    })();
    const result = await load({ url, connections: 16, duration: 30, timeout: 10, path: '/v1/score', bodies });
    await rolling;
    const retried = fs.readFileSync(path.join(dir, 'error.log'), 'utf8').split('\n').filter((l) => /upstream|connect\(\) failed/.test(l)).length;
    console.log(`replicas: ${JSON.stringify(result)}; restarts ${JSON.stringify(restarts)}; nginx logged ${retried} upstream errors it retried on the other replica`);
    expect(restarts.map((r) => r.exitCode)).toEqual([0, 0]);
    expect(result.requests).toBeGreaterThan(1000);
    expect(result.statuses).toEqual({ 200: result.requests });
    expect(result.errors + result.timeouts).toBe(0);
    for (const r of replicas) expect((await fetch(`http://127.0.0.1:${r.port}/readyz`)).status).toBe(200);
  });
});
