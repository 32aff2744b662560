// Reward sources of the online kinds: OpenRLHF's remote protocol against a real `alignkit serve`
// on a socket (client scores equal the server's model scores, and a GRPO run trains on them),
// a JS function module, ensembles, and the command line that wires them.

import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { trainCommand } from '../../../src/cli/commands/train.js';
import { OnnxRewardModel } from '../../../src/rewards/index.js';
import { FIXTURE_MODEL, buildServer } from '../../../src/serve/index.js';
import { runTraining, RUN_FILES } from '../../../src/train/run/index.js';
import { loadReward, loadRewardSpec, remoteReward } from '../../../src/train/rl/index.js';
import { copySample, readJsonl, tempDir, TINY_LM, TINY_RM } from '../run/helpers.js';
import { onlineConfig, PROMPTS } from './helpers.js';

const render = (p: unknown) => String(p);

describe('remote reward (OpenRLHF /get_reward) against a real alignkit serve', () => {
  // The local reward models score the same rollouts the same way: the remote path changes where, not what.
  let app: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    // --auto-truncate: rollouts' prompts are whole dialogues, longer than the fixture's 128 positions.
    app = buildServer({ config: { models: [FIXTURE_MODEL], maxClientBatch: 4, autoTruncate: true } });
    url = `${await app.listen({ port: 0, host: '127.0.0.1' })}/get_reward`;
  });
  afterAll(() => app?.close());

  const pairs = [
    { prompt: '\n\nHuman: hi\n\nAssistant:', response: ' hello there' }, { prompt: '\n\nHuman: 2+2?\n\nAssistant:', response: ' 4' },
    { prompt: 'a', response: ' b' }, { prompt: 'b c', response: ' d' }, { prompt: '\n\nHuman: name a prime\n\nAssistant:', response: ' seven' },
  ];
  const queries = (ps: typeof pairs) => ps.map((p) => ({ query: p.prompt + p.response, prompt: p.prompt }));

  it('sends each query with its prompt, so the server scores it as a local reward model scores {prompt, response}', async () => {
    const got = await remoteReward(url, { batchSize: 4 })(queries(pairs));
    const want = await (await OnnxRewardModel.load(FIXTURE_MODEL.dir)).score(pairs);
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i]![0]!, 4));
  });

  it("halves its batches on the server's 413 (client batch cap); another 4xx fails naming the URL and the answer", async () => {
    const many = Array.from({ length: 9 }, (_, i) => ({ prompt: `question ${i}?`, response: ` answer ${i}` }));
    const got = await remoteReward(url, { batchSize: 32 })(queries(many));
    const want = await (await OnnxRewardModel.load(FIXTURE_MODEL.dir)).score(many);
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i]![0]!, 4));
    await expect(remoteReward(url)([{ query: '', prompt: '' }])).rejects.toThrow(/reward server .*get_reward answered 400/);
    await expect(remoteReward(url.replace('/get_reward', '/nope'))(queries(pairs.slice(0, 1)))).rejects.toThrow(/answered 404/);
  });

  it('grpo trains on rewards from the server', async () => {
    const dir = tempDir('remote-grpo');
    const config = onlineConfig('grpo', dir, { steps: 2, rl: { reward: [url] } });
    const r = await runTraining(config);
    expect(r.steps).toBe(2);
    const m = readJsonl(path.join(config.output, RUN_FILES.metrics));
    for (const line of m) expect(Number.isFinite(line['reward/mean'])).toBe(true);
    expect(m[0]!['reward/std'] as number).toBeGreaterThan(0);
  }, 60_000);
});

describe('rule-based rewards from a JS module', () => {
  it('js:FILE scores with the module default export; a wrong answer names the file', async () => {
    const dir = tempDir('js-reward');
    const good = path.join(dir, 'length.mjs');
    fs.writeFileSync(good, 'export default (items) => items.map((it) => it.response.length / 10);\n');
    const model = await loadRewardSpec(`js:${good}`, { render });
    const scores = (await model.score([{ prompt: 'p', response: 'abcd' }, { prompt: 'q', response: '' }])).map((x) => x[0]!);
    expect(scores[0]).toBeCloseTo(0.4, 6);
    expect(scores[1]).toBe(0);
    const bad = path.join(dir, 'bad.mjs');
    fs.writeFileSync(bad, 'export default () => [1];\n');
    await expect((await loadRewardSpec(`js:${bad}`, { render })).score([{ prompt: 'a', response: 'b' }, { prompt: 'c', response: 'd' }])).rejects.toThrow(/bad\.mjs returned \[1\] for 2 items/);
    await expect(loadRewardSpec(`js:${path.join(dir, 'missing.mjs')}`, { render })).rejects.toThrow(/missing\.mjs could not be imported/);
    // A run optimises it: the reward is the module's.
    const config = onlineConfig('rloo', dir, { steps: 2, rl: { reward: [`js:${good}`] } });
    await runTraining(config);
    for (const line of readJsonl(path.join(config.output, RUN_FILES.metrics))) expect(line['reward/mean'] as number).toBeGreaterThan(0);
  }, 60_000);
});

describe('reward ensembles', () => {
  it('combine their members by mean, min (WCO) or uncertainty (UWO), like RewardEnsemble', async () => {
    const dir = tempDir('ens');
    const plus = path.join(dir, 'plus.mjs');
    fs.writeFileSync(plus, 'export default (items) => items.map((it) => it.response.length);\n');
    const minus = path.join(dir, 'minus.mjs');
    fs.writeFileSync(minus, 'export default (items) => items.map(() => 1);\n');
    const items = [{ prompt: 'x', response: 'abc' }];
    const specs = [`js:${plus}`, `js:${minus}`];
    expect((await (await loadReward(specs, { method: 'mean', lambda: 0 }, { render })).score(items))[0]![0]).toBeCloseTo(2, 6);
    expect((await (await loadReward(specs, { method: 'min', lambda: 0 }, { render })).score(items))[0]![0]).toBeCloseTo(1, 6);
    // UWO: mean - lambda * population variance = 2 - 0.5 * 1
    expect((await (await loadReward(specs, { method: 'uncertainty', lambda: 0.5 }, { render })).score(items))[0]![0]).toBeCloseTo(1.5, 6);
    // The same directory twice is two members (seeds of one recipe often share a name).
    expect((await loadReward([TINY_RM, TINY_RM], { method: 'mean', lambda: 0 }, { render })).memberNames).toHaveLength(2);
    await expect(loadReward([], { method: 'mean', lambda: 0 }, { render })).rejects.toThrow(/--reward/);
  });
});

describe('alignkit train grpo from the command line', () => {
  it('--prompts, repeated --reward with --combine, group and batch sizes as flags', async () => {
    const dir = tempDir('cli-grpo');
    const prompts = copySample(dir, PROMPTS);
    const out = path.join(dir, 'out');
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    const code = await trainCommand.run([
      'grpo', '--model', TINY_LM, '--prompts', prompts, '--reward', TINY_RM, '--reward', TINY_RM, '--combine', 'min', '--samples-per-prompt', '2', '--prompts-per-step', '2',
      '--batch-size', '4', '--micro-batch-size', '2', '--max-new-tokens', '6', '--max-length', '40', '--max-prompt-length', '24', '--on-long-prompt', 'truncate', '--limit', '12', '--steps', '2',
      '--rl', '{"evalPrompts":2}', '--loss-hp', '{"beta":0.02}', '--output', out, '--no-progress', '--threads', '1', '--cache-dir', path.join(dir, 'cache'),
    ]);
    vi.restoreAllMocks();
    expect(code).toBe(0);
    expect(lines.join('\n')).toMatch(/grpo grpo: 2 steps/);
    const config = JSON.parse(fs.readFileSync(path.join(out, 'run-config.json'), 'utf8'));
    expect(config.rl).toMatchObject({ reward: [TINY_RM, TINY_RM], combine: 'min', samplesPerPrompt: 2, promptsPerStep: 2, maxNewTokens: 6, evalPrompts: 2, onLongPrompt: 'truncate' });
    expect(config.lossHp).toEqual({ beta: 0.02 });
    expect(readJsonl(path.join(out, RUN_FILES.metrics))[0]!['reward/variance']).toBe(0);
  }, 60_000);
});
