// The WebGPU device through the real CLI in child processes: every command exits by itself when
// done (dawn.node must not keep the process alive), the server stops on SIGTERM, and a machine
// without a usable adapter gets one line naming what is missing: no Vulkan loader (hidden in a
// private mount namespace), no driver, a driver that gives no device, or only a software adapter
// when none was named. Plus the regression test for the stall after onnxruntime-web's wasm loads.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { gpuHere, gpuTitle, MODELS, ROOT } from './helpers.js';

const here = await gpuHere();
const adapter = String(here.adapter?.index ?? 0);
const CLI = ['--import', path.join(ROOT, 'src/dev/register-ts.mjs'), path.join(ROOT, 'src/cli/main.ts')];
const LM = path.join(MODELS, 'tiny-gpt2');

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run a command to its end; a child still running after `limitMs` is killed and fails the test. */
function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; limitMs?: number; onStdout?: (s: string, kill: () => void) => void } = {}): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += String(b);
      opts.onStdout?.(stdout, () => child.kill('SIGTERM'));
    });
    child.stderr.on('data', (b: Buffer) => (stderr += String(b)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not exit within ${opts.limitMs ?? 480_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.limitMs ?? 480_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

const lastLine = (s: string) => s.trim().split('\n').at(-1)!;
const generate = (...extra: string[]) => [...CLI, 'generate', '--base', LM, '--prompt', 'Hello', '--max-tokens', '3', '--greedy', '--device', 'webgpu', ...extra];

describe.skipIf(!here.adapter)(gpuTitle('commands on the device exit by themselves', here), () => {
  it('generate prints its line and exits', async () => {
    const r = await run(process.execPath, generate('--adapter', adapter));
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim()).numTokens).toBe(3);
    expect(r.stderr).toContain(`alignkit generate: webgpu on ${here.adapter!.name}`);
  });

  it('train rm trains, writes its model and exits', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-gpu-cli-'));
    fs.copyFileSync(path.join(ROOT, 'data/samples/hh_rlhf_harmless_base_test.200.jsonl'), path.join(dir, 'data.jsonl'));
    const r = await run(process.execPath, [...CLI, 'train', 'rm', '--model', path.join(MODELS, 'tiny-gpt2-rm'), '--data', path.join(dir, 'data.jsonl'), '--output', path.join(dir, 'out'),
      '--limit', '8', '--batch-size', '2', '--micro-batch-size', '2', '--max-length', '48', '--max-prompt-length', '24', '--steps', '2', '--no-progress', '--threads', '1', '--device', 'webgpu', '--adapter', adapter]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('2 steps');
    expect(fs.existsSync(path.join(dir, 'out/onnx/model.onnx'))).toBe(true);
  });

  it('serve answers /v1/models with the adapter and stops on SIGTERM', async () => {
    let models: unknown;
    let asked = false;
    const r = await run(process.execPath, [...CLI, 'serve', '--model', path.join(MODELS, 'tiny-gpt2-rm'), '--port', '0', '--no-docs', '--device', 'webgpu', '--adapter', adapter], {
      onStdout: (out, kill) => {
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (!m || asked) return;
        asked = true;
        void fetch(`${m[1]}/v1/models`).then((res) => res.json()).then((j) => { models = j; }).finally(kill);
      },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`webgpu on ${here.adapter!.name}`);
    expect(models).toMatchObject({ models: [{ name: 'tiny-gpt2-rm', device: { provider: 'webgpu', adapter: { name: here.adapter!.name, backend: here.adapter!.backend } } }] });
  });

  it('an onnxruntime-node session opened after onnxruntime-web\'s wasm is created without a stall (V8 tier-up of its 1.5 MB functions)', async () => {
    // Without the tiering-budget scope in src/graph/webgpu/ort-web.ts this took 30-210 s on 2 cores.
    const r = await run(process.execPath, ['--import', path.join(ROOT, 'src/dev/register-ts.mjs'), path.join(ROOT, 'test/gpu/stall-child.ts'), adapter]);
    expect(r.code, r.stderr).toBe(0);
    const { createMs, gapMs } = JSON.parse(lastLine(r.stdout)) as { createMs: number; gapMs: number };
    expect(createMs).toBeLessThan(10_000);
    expect(gapMs).toBeLessThan(10_000);
  });

  it('--adapter NAME takes the adapter whose name contains NAME; an index or name that matches none is one line listing the adapters', async () => {
    const part = here.adapter!.name.split(' ')[0]!;
    const byName = await run(process.execPath, generate('--adapter', part));
    expect(byName.code, byName.stderr).toBe(0);
    expect(byName.stderr).toContain(`alignkit generate: webgpu on ${here.adapter!.name}`);
    const listed = `adapters: 0: ${here.adapter!.name} [${here.adapter!.backend}]`;
    for (const [wrong, says] of [['99', 'there is no WebGPU adapter 99'], ['no-such-gpu', 'no WebGPU adapter has "no-such-gpu" in its name']]) {
      const r = await run(process.execPath, generate('--adapter', wrong!));
      expect(r.code).toBe(1);
      expect(lastLine(r.stderr)).toMatch(/^alignkit generate: --adapter .* \[ALIGNKIT_ERR_NO_DEVICE\]$/);
      expect(lastLine(r.stderr)).toContain(`--adapter ${wrong}: ${says}; ${listed}`);
    }
  });

  it.skipIf(!here.adapter?.name.includes('llvmpipe'))('refuses a software adapter that was not named, in one line naming it and how to use it', async () => {
    const r = await run(process.execPath, generate());
    expect(r.code).toBe(1);
    expect(lastLine(r.stderr)).toMatch(new RegExp(`^alignkit generate: no GPU adapter: the only WebGPU adapter is the software renderer .*llvmpipe.*; use --device cpu, or name it to use it anyway \\(--adapter 0 or --adapter "[^"]+"\\) \\[ALIGNKIT_ERR_NO_DEVICE\\]$`));
  });
});

const linux = process.platform === 'linux';
const unshare = linux && spawnSync('unshare', ['--mount', '--map-root-user', 'true']).status === 0;
const loaderFile = linux ? ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1'].find((f) => fs.existsSync(f)) : undefined;
// vitest's reporter does not list skipped tests' titles, so the reason is printed too.
if (linux && !unshare) console.warn('test/gpu: the missing-package and missing-loader tests are SKIPPED: unshare --mount --map-root-user is not permitted here');

describe.skipIf(!linux)('no usable adapter: one line naming what is missing', () => {
  const noDevice = /^alignkit generate: no WebGPU adapter: .* \[ALIGNKIT_ERR_NO_DEVICE\]$/;

  it('no Vulkan driver (VK_ICD_FILENAMES names none that exists)', async () => {
    const r = await run(process.execPath, generate('--adapter', '0'), { env: { VK_ICD_FILENAMES: '/nonexistent/alignkit_icd.json' } });
    expect(r.code).toBe(1);
    expect(lastLine(r.stderr)).toMatch(noDevice);
    expect(lastLine(r.stderr)).toContain('the Vulkan loader finds no Vulkan driver (no ICD manifest in /nonexistent/alignkit_icd.json)');
  });

  it('a driver that gives Dawn no device (a manifest whose library is no Vulkan driver)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-icd-'));
    fs.writeFileSync(path.join(dir, 'broken_icd.json'), JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: 'libz.so.1', api_version: '1.3.0' } }));
    const r = await run(process.execPath, generate('--adapter', '0'), { env: { VK_ICD_FILENAMES: path.join(dir, 'broken_icd.json') } });
    expect(r.code).toBe(1);
    expect(lastLine(r.stderr)).toMatch(noDevice);
    expect(lastLine(r.stderr)).toContain('the Vulkan drivers broken_icd.json gave Dawn no device it accepts');
  });

  it.skipIf(!unshare)(`the webgpu package missing (npm ci --omit=optional; node_modules/webgpu hidden in a private mount namespace${unshare ? '' : '; SKIPPED: unshare --mount is not permitted here'})`, async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-no-webgpu-'));
    const pkg = fs.realpathSync(path.join(ROOT, 'node_modules/webgpu'));
    const cmd = `mount --bind ${empty} ${pkg} && exec "${process.execPath}" ${generate('--adapter', '0').map((a) => `'${a}'`).join(' ')}`;
    const r = await run('unshare', ['--mount', '--map-root-user', 'sh', '-c', cmd]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(lastLine(r.stderr)).toMatch(/^alignkit generate: --device webgpu needs the webgpu package .*: npm install webgpu@0\.6\.2 onnxruntime-web@1\.30\.0 .* \[ALIGNKIT_ERR_PROVIDER_MISSING\]$/);
  });

  it.skipIf(!unshare || !loaderFile)(`no Vulkan loader (${loaderFile ?? 'libvulkan.so.1 absent'} hidden in a private mount namespace${unshare ? '' : '; SKIPPED: unshare --mount is not permitted here'})`, async () => {
    const real = fs.realpathSync(loaderFile!);
    const cmd = `mount --bind /dev/null ${real} && exec "${process.execPath}" ${generate('--adapter', '0').map((a) => `'${a}'`).join(' ')}`;
    const r = await run('unshare', ['--mount', '--map-root-user', 'sh', '-c', cmd]);
    expect(r.code).toBe(1);
    expect(lastLine(r.stderr)).toMatch(noDevice);
    expect(lastLine(r.stderr)).toContain('the Vulkan loader libvulkan.so.1 cannot be loaded');
  });
});
