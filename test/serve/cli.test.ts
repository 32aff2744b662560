// `alignkit serve` as a user runs it: the shipped default model, the startup log, real HTTP, and a
// graceful stop on SIGTERM.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { serveCommand, parseServeArgs } from '../../src/cli/commands/serve.js';
import { loadCommand } from '../../src/cli/commands/index.js';
import { DEFAULT_MODEL } from '../../src/serve/index.js';

afterEach(() => vi.restoreAllMocks());

describe('alignkit serve', () => {
  it('is registered in the command table', async () => {
    expect(await loadCommand('serve')).toBe(serveCommand);
  });

  it('parses options into a config, naming bad values', () => {
    const cfg = parseServeArgs(['--model', 'seed1=/m/a', '--model', 'rel/b', '--port', '9000', '--max-batch', '16', '--combine', 'uncertainty', '--lambda', '0.25', '--auto-truncate', '--no-docs']);
    expect(cfg.models).toEqual([{ dir: '/m/a', name: 'seed1' }, { dir: expect.stringMatching(/\/rel\/b$/) }]);
    expect(cfg).toMatchObject({ port: 9000, maxBatch: 16, combine: { method: 'uncertainty', lambda: 0.25 }, autoTruncate: true, docs: false });
    expect(parseServeArgs([]).models).toBeUndefined();
    expect(parseServeArgs(['--drain-delay', '5000', '--shutdown-timeout', '10000'])).toMatchObject({ drainDelayMs: 5000, shutdownTimeoutMs: 10000 });
    expect(() => parseServeArgs(['--port', 'eighty'])).toThrow(/--port must be a number, got 'eighty'/);
    expect(() => parseServeArgs(['--combine', 'median'])).toThrow(/--combine: unknown combination 'median'; known: mean, min, uncertainty/);
  });

  it('fails to start on a model directory that does not exist, naming it', async () => {
    await expect(serveCommand.run(['--model', '/nonexistent/reward-model', '--port', '0'])).rejects.toMatchObject({
      code: 'ALIGNKIT_ERR_FILE_NOT_FOUND',
      message: 'model directory /nonexistent/reward-model does not exist',
    });
  });

  it('serves the shipped alignkit-rm when no --model is given, says so, and stops on SIGTERM', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    const done = serveCommand.run(['--port', '0', '--host', '127.0.0.1']);
    while (!lines.some((l) => l.includes('listening on'))) await new Promise((r) => setTimeout(r, 50));
    const url = lines.find((l) => l.includes('listening on'))!.match(/listening on (\S+)/)![1];
    expect(lines.join('\n')).toContain('no --model given, serving the shipped default reward model alignkit-rm');
    expect(lines.join('\n')).toContain('model alignkit-rm (heads: LABEL_0; max length 256)');
    expect(lines.join('\n')).not.toContain('fixture');
    const health = await fetch(`${url}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok', models: ['alignkit-rm'] });
    const models = await (await fetch(`${url}/v1/models`)).json();
    expect(models.models[0].fixture).toBe(false);
    process.emit('SIGTERM', 'SIGTERM'); // as Node emits a real signal: with its name
    expect(await done).toBe(0);
    expect(lines.join('\n')).toMatch(/SIGTERM, draining: not ready, finishing in-flight requests \(at most 30000 ms\), then shutting down\n.*shut down/);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    expect(DEFAULT_MODEL.dir).toMatch(/data\/models\/alignkit-rm$/);
  });
});
