import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CausalLM } from '../../src/models/index.js';
import { FLR_FOLLOW_UPS, FollowUpLikelihoodReward, flrConfig, followUpSets } from '../../src/rewards/flr.js';
import { DATA } from '../helpers/paths.js';

const LM_DIR = path.join(DATA, 'models', 'tiny-gpt2');
const POSITIVE = ['Thanks, that helps.', 'Great answer!'];
const NEGATIVE = ['That is wrong.'];

/** Mean of the per-token log-probs of `followUp` after `context`, straight from CausalLM.responseLogProbs. */
async function meanLogLik(lm: CausalLM, context: string, followUp: string): Promise<number> {
  const out = await lm.responseLogProbs([{ prompt: context, response: followUp }], { appendEos: false });
  const lp = out.logprobs[0]!;
  return lp.reduce((s, x) => s + x, 0) / lp.length;
}

describe('FLR: follow-up likelihood as reward', () => {
  it('is mean positive minus mean negative follow-up log-likelihood, for plain-text and chat items', async () => {
    const lm = await CausalLM.load(LM_DIR);
    const flr = new FollowUpLikelihoodReward(lm, { positive: POSITIVE, negative: NEGATIVE, batchSize: 2 });
    const textItem = { prompt: '\n\nHuman: Is the sky blue?\n\nAssistant:', response: ' Yes, on a clear day.' };
    const chatItem = { prompt: [{ role: 'user', content: 'Name a color.' }], response: 'Red.' };
    const scores = await flr.score([textItem, chatItem]);
    expect(flr.heads).toEqual(['flr']);
    expect(scores).toHaveLength(2);

    // Hand-built contexts: the HH-style user turn after the text response, and the fixture's chat
    // template (`<|role|>\n` + content + `<|endoftext|>`) rendered by hand for the chat item.
    const textContext = '\n\nHuman: Is the sky blue?\n\nAssistant: Yes, on a clear day.\n\nHuman: ';
    const chatContext = '<|user|>\nName a color.<|endoftext|><|assistant|>\nRed.<|endoftext|><|user|>\n';
    for (const [i, context] of [textContext, chatContext].entries()) {
      const pos = [await meanLogLik(lm, context, POSITIVE[0]!), await meanLogLik(lm, context, POSITIVE[1]!)];
      const neg = await meanLogLik(lm, context, NEGATIVE[0]!);
      const expected = (pos[0]! + pos[1]!) / 2 - neg;
      expect(scores[i]![0]).toBeCloseTo(expected, 5);
    }
  });

  it('scores an item the same alone and in a batch, and differs between responses', async () => {
    const flr = await FollowUpLikelihoodReward.load(LM_DIR, { positive: POSITIVE, negative: NEGATIVE });
    const a = { prompt: 'Q: What is 2+2?\nA:', response: ' 4.' };
    const b = { prompt: 'Q: What is 2+2?\nA:', response: ' I like turtles very much.' };
    const [both, alone] = [await flr.score([a, b]), await flr.score([b])];
    expect(both[1]![0]).toBeCloseTo(alone[0]![0]!, 5);
    expect(both[0]![0]).not.toBeCloseTo(both[1]![0]!, 5);
  });

  it('defaults to the paper sets of all six sub-categories and validates its configuration', () => {
    const config = flrConfig();
    const all = followUpSets(Object.keys(FLR_FOLLOW_UPS));
    expect(config.positive).toEqual(all.positive);
    expect(config.positive).toContain('That answers my question perfectly.');
    expect(config.negative).toContain("That's not what I was asking.");
    expect(new Set(config.negative).size).toBe(config.negative.length);
    expect(flrConfig({ dimensions: ['relevance'] }).positive).toEqual(FLR_FOLLOW_UPS.relevance.positive);
    expect(() => flrConfig({ dimensions: ['wit'] })).toThrow(/FLR dimension "wit" is not one of understanding, relevance/);
    expect(() => flrConfig({ negative: [] })).toThrow(/at least one non-empty negative follow-up/);
    expect(() => flrConfig({ batchSize: 0 })).toThrow(/batchSize must be a positive integer/);
  });

  it('fails on over-long input naming the item unless asked to truncate', async () => {
    const flr = await FollowUpLikelihoodReward.load(LM_DIR, { positive: POSITIVE, negative: NEGATIVE });
    const long = { prompt: 'lorem ipsum dolor sit amet '.repeat(40), response: ' ok' };
    await expect(flr.score([long])).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_TOO_LONG' });
    const [score] = await flr.score([long], { truncate: true });
    expect(Number.isFinite(score![0])).toBe(true);
  });
});
