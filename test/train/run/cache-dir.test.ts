// Where reference log-probs are cached (issue #12 §3): in a per-user cache directory, never next
// to the dataset (there they showed up in `git status`, in `npm pack`, in the Docker image and in
// installed users' node_modules/alignkit/data/).

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { trainCommand } from '../../../src/cli/commands/train.js';
import { CACHE_DIR_ENV, resolveCacheDir } from '../../../src/train/run/index.js';
import { copySample, tempDir, TINY_LM } from './helpers.js';

describe('reference log-prob cache directory', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('regression: train dpo leaves the dataset folder as it was and caches under ALIGNKIT_CACHE_DIR, keyed by the dataset', async () => {
    const dir = tempDir('cachedir');
    const dataDir = path.join(dir, 'data');
    fs.mkdirSync(dataDir);
    const data = copySample(dataDir, 'ultrafeedback_binarized_sample_train.60.jsonl');
    const cache = path.join(dir, 'user-cache');
    vi.stubEnv(CACHE_DIR_ENV, cache);
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const args = (out: string) => ['dpo', '--model', TINY_LM, '--data', data, '--output', path.join(dir, out), '--limit', '8', '--steps', '1', '--max-length', '48', '--max-prompt-length', '24', '--no-progress', '--threads', '1'];
    expect(await trainCommand.run(args('a'))).toBe(0);
    expect(fs.readdirSync(dataDir)).toEqual(['ultrafeedback_binarized_sample_train.60.jsonl']);
    const cached = fs.readdirSync(path.join(cache, 'reference-logprobs'));
    expect(cached).toHaveLength(1);
    expect(cached[0]).toMatch(/^ultrafeedback_binarized_sample_train\.60\.jsonl\.ref-[0-9a-f]{16}\.arrow$/);
    // --cache-dir wins over the environment.
    const flag = path.join(dir, 'flag-cache');
    expect(await trainCommand.run([...args('b'), '--cache-dir', flag])).toBe(0);
    expect(fs.readdirSync(path.join(flag, 'reference-logprobs'))).toEqual(cached);
    expect(fs.readdirSync(dataDir)).toEqual(['ultrafeedback_binarized_sample_train.60.jsonl']);
  }, 60_000);

  it('resolves --cache-dir, then ALIGNKIT_CACHE_DIR, then an absolute XDG_CACHE_HOME, then ~/.cache', () => {
    const home = '/home/u';
    expect(resolveCacheDir('/flag', { ALIGNKIT_CACHE_DIR: '/env', XDG_CACHE_HOME: '/xdg' }, home, 'linux')).toBe('/flag');
    expect(resolveCacheDir(undefined, { ALIGNKIT_CACHE_DIR: '/env', XDG_CACHE_HOME: '/xdg' }, home, 'linux')).toBe('/env');
    expect(resolveCacheDir(undefined, { XDG_CACHE_HOME: '/xdg' }, home, 'linux')).toBe('/xdg/alignkit');
    // The XDG spec: a relative XDG_CACHE_HOME is invalid and ignored.
    expect(resolveCacheDir(undefined, { XDG_CACHE_HOME: 'rel' }, home, 'linux')).toBe('/home/u/.cache/alignkit');
    expect(resolveCacheDir(undefined, {}, home, 'linux')).toBe('/home/u/.cache/alignkit');
    expect(resolveCacheDir(undefined, { LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, home, 'win32')).toBe(path.join('C:\\Users\\u\\AppData\\Local', 'alignkit'));
  });
});
