// FLR, "Follow-up Likelihood as Reward" (Zhang et al., AAAI 2025, arXiv 2409.13948): a training-free
// reward from any causal LM. After (prompt, response) a user follow-up turn is appended; a good
// response makes positive follow-ups ("That answers my question perfectly.") likely and negative ones
// ("That's not what I was asking.") unlikely:
//
//   FLR(x, y) = mean_{f in P} ll(f | x, y) - mean_{f in N} ll(f | x, y),
//   ll(f | x, y) = (1/|f|) sum_t log p(f_t | x, y, f_<t)   (mean over the follow-up's tokens)
//
// The per-token mean follows the authors' code (e0397123/FLR, run_llama3.py averages over the
// feedback tokens), so long and short follow-ups weigh alike. Default follow-up sets are the
// paper's six helpfulness sub-categories (that repository's utils.py), duplicates removed.

import { fail } from '../errors.js';
import { CausalLM, type LoadOptions, type Message, type PromptResponse, type Text } from '../models/index.js';
import type { RewardModel, ScoreItem, ScoreOptions } from './types.js';

interface FollowUpSet {
  positive: string[];
  negative: string[];
}

/** The paper's follow-up utterances per helpfulness sub-category (e0397123/FLR utils.py). */
export const FLR_FOLLOW_UPS = {
  understanding: {
    positive: ['You’re very clear and easy to understand.', 'I completely understand what you’re saying.', 'You are very clear.', 'I understand perfectly now.', 'I see exactly what you’re trying to say.', 'That makes perfect sense!', 'I understand completely!', 'You’re making perfect sense.', 'Your explanation was clear and easy to follow.'],
    negative: ["I don't think you understood my question.", "That's not what I was asking.", 'I think you misunderstood what I meant.', "You didn't quite get what I was asking for.", 'You’re really confusing.', 'I am so confused right now.', 'What are you trying to say?', 'That makes no sense!', 'You’re not understanding me!', "I don't think this is what I was asking about."],
  },
  relevance: {
    positive: ['This is highly relevant here.', 'This is highly pertinent to our discussion.', "You've answered my question perfectly.", 'This information is exactly what I was looking for.', 'That was exactly what I needed.', 'That answers my question perfectly.', 'Perfect, that fits right into what I was asking.', "That's directly related to my query.", "Yes, that's the kind of detail I was hoping for.", 'Great response, very relevant.'],
    negative: ['That’s not really relevant here.', 'I don’t understand what you’re saying.', 'What does that even mean?', "Your response isn't relevant to my query.", "That's off-topic from what I asked.", "This isn't addressing my issue.", 'Your response is not aligned with my request.', "This doesn't seem to relate to what I asked.", 'I was asking about something else.', 'This response is missing the point of my question.'],
  },
  correctness: {
    positive: ['Your answer is truthful and correct.', 'You gave me the correct details.', 'You provided the correct answer.', 'I appreciate the accurate information.', 'You got it right.', "That's the right answer.", "I can confirm that's true.", "That's correct, great job!", 'Your information is spot on.'],
    negative: ['That’s not the right information.', 'Your response is misleading.', "You didn't answer my question correctly.", "Your answer doesn't provide any useful information.", 'Your information is wrong.', "You're providing incorrect details.", "That doesn't seem right.", 'I think you got this wrong.', "You're providing false information.", 'I found mistakes in your response.'],
  },
  engagingness: {
    positive: ['You’re very engaging.', 'This is very interesting.', 'That was a really engaging response.', 'I definitely want to talk about that!', 'I love how you explained that.', 'I enjoyed reading your response.', 'That was quite captivating!', 'You definitely have my attention now.', 'I really liked how you put that.', 'You made that topic much more enjoyable.'],
    negative: ['You’re really boring.', 'That’s not very interesting.', 'That was a really boring response.', 'I don’t want to talk about that!', 'Your response feels a bit dry.', "That answer wasn't very engaging.", 'Your reply feels a bit too mechanical.', 'Your response is a bit too plain.', 'I was hoping for something more interactive.', "This doesn't really hold my attention."],
  },
  informativeness: {
    positive: ['That’s a very specific response.', 'I learned a lot from your response.', 'Your answer provided a lot of insight.', 'That was full of useful information.', 'Your response was very educational.', 'You provided a lot of useful details.', 'That explanation was very detailed and helpful.', 'You really provided a lot of good information there.', 'That was very enlightening.', 'Thanks for the thorough explanation.'],
    negative: ['That’s a very generic response.', 'Your explanation was vague and hard to follow.', "This response doesn't provide the information I need.", "This doesn't give me the information I was looking for.", 'Your answer lacks the details I need.', 'I was hoping for more detailed information.', 'Your answer is lacking in detail.', "That doesn't provide any new insights.", 'I need a more informative answer.'],
  },
  following: {
    positive: ['Perfect, you followed my instructions exactly.', 'Thanks for sticking to the guidelines I provided.', 'You executed my request perfectly.', 'That’s exactly what I asked for.', 'Great job adhering to my instructions.', 'You did exactly as I instructed.', 'That’s exactly what I needed.', 'That was perfect, just as I asked.', 'You did a fantastic job following my instructions.', 'That’s exactly what I had in mind.'],
    negative: ["That's not what I asked you to do.", "You didn't follow my instructions.", "This isn't what I requested.", "This response doesn't match my request.", "You didn't adhere to my instructions.", "You didn't follow the guidelines I gave.", 'I asked for something different.', "You didn't follow my request accurately.", "That's not how I wanted it done.", "You didn't stick to my instructions."],
  },
} as const satisfies Record<string, { positive: readonly string[]; negative: readonly string[] }>;

export type FlrDimension = keyof typeof FLR_FOLLOW_UPS;

export interface FlrConfig {
  /** Follow-ups a well-served user would say next. */
  positive: string[];
  /** Follow-ups of a badly served user. */
  negative: string[];
  /**
   * Text put between a plain-string response and the follow-up: the user-turn marker of the
   * plain-text dialogue format (HH-RLHF's "\n\nHuman: "). Message-list prompts use the chat template instead.
   */
  textTurnPrefix: string;
  /** (item, follow-up) rows per session run. */
  batchSize: number;
  name: string;
}

/** Which paper sets to use when `positive`/`negative` are not given: all six sub-categories. */
export const FLR_DEFAULT_DIMENSIONS: FlrDimension[] = Object.keys(FLR_FOLLOW_UPS) as FlrDimension[];

export const FLR_DEFAULTS: Omit<FlrConfig, 'positive' | 'negative'> = { textTurnPrefix: '\n\nHuman: ', batchSize: 16, name: 'flr' };

/** The union of the named sub-categories' sets, duplicates removed, in table order. */
export function followUpSets(dimensions: readonly string[]): FollowUpSet {
  const known = Object.keys(FLR_FOLLOW_UPS);
  const sets = dimensions.map((d) => {
    if (!known.includes(d)) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `FLR dimension "${d}" is not one of ${known.join(', ')}`, { parameter: 'dimensions' });
    return FLR_FOLLOW_UPS[d as FlrDimension];
  });
  return { positive: [...new Set(sets.flatMap((s) => s.positive))], negative: [...new Set(sets.flatMap((s) => s.negative))] };
}

export type FlrOptions = Partial<FlrConfig> & { dimensions?: string[] };

export function flrConfig(opts: FlrOptions = {}): FlrConfig {
  const paper = followUpSets(opts.dimensions ?? FLR_DEFAULT_DIMENSIONS);
  const config: FlrConfig = {
    positive: opts.positive ?? paper.positive,
    negative: opts.negative ?? paper.negative,
    textTurnPrefix: opts.textTurnPrefix ?? FLR_DEFAULTS.textTurnPrefix,
    batchSize: opts.batchSize ?? FLR_DEFAULTS.batchSize,
    name: opts.name ?? FLR_DEFAULTS.name,
  };
  for (const side of ['positive', 'negative'] as const) {
    if (config[side].length === 0 || config[side].some((f) => f.trim() === ''))
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `FLR needs at least one non-empty ${side} follow-up`, { parameter: side });
  }
  if (!Number.isInteger(config.batchSize) || config.batchSize < 1) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `batchSize must be a positive integer, got ${config.batchSize}`, { parameter: 'batchSize' });
  return config;
}

function responseMessages(response: Text): Message[] {
  return typeof response === 'string' ? [{ role: 'assistant', content: response }] : response;
}

export class FollowUpLikelihoodReward implements RewardModel {
  readonly heads = ['flr'];
  readonly config: FlrConfig;

  constructor(readonly lm: CausalLM, opts: FlrOptions = {}) {
    this.config = flrConfig(opts);
  }

  static async load(dir: string, opts: FlrOptions & LoadOptions = {}): Promise<FollowUpLikelihoodReward> {
    return new FollowUpLikelihoodReward(await CausalLM.load(dir, { session: opts.session }), opts);
  }

  get name(): string {
    return this.config.name;
  }

  get maxLength(): number {
    return this.lm.maxLength;
  }

  /**
   * The (context, follow-up) pair whose follow-up log-likelihood is measured: everything up to the
   * follow-up's first character as context, the follow-up text alone as the scored part.
   */
  followUpPair(item: ScoreItem, followUp: string, index: number): PromptResponse {
    if (typeof item.prompt === 'string') {
      if (typeof item.response !== 'string') throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `item ${index}: a string prompt needs a string response, got a message list`, { row: index, field: 'response' });
      return { prompt: item.prompt + item.response + this.config.textTurnPrefix, response: followUp };
    }
    const messages = [...item.prompt, ...responseMessages(item.response), { role: 'user', content: followUp }];
    const full = this.lm.tokenizer.applyChatTemplate(messages);
    const at = full.lastIndexOf(followUp);
    if (at < 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `item ${index}: the chat template of ${this.lm.tokenizer.source} does not render the follow-up text verbatim`, { row: index, field: 'prompt' });
    return { prompt: full.slice(0, at), response: followUp };
  }

  /** Mean per-token log-likelihood of every follow-up after every item: [item][positive..., negative...]. */
  async followUpLikelihoods(items: ScoreItem[], opts: ScoreOptions = {}): Promise<Float64Array[]> {
    const followUps = [...this.config.positive, ...this.config.negative];
    const pairs = items.flatMap((item, i) => followUps.map((f) => this.followUpPair(item, f, i)));
    const means = new Float64Array(pairs.length);
    for (let start = 0; start < pairs.length; start += this.config.batchSize) {
      const chunk = pairs.slice(start, start + this.config.batchSize);
      // The follow-up is a user turn that goes on, so no EOS is appended to it.
      const out = await this.lm.responseLogProbs(chunk, { truncate: opts.truncate ?? false, appendEos: false });
      out.sum.forEach((sum, j) => (means[start + j] = sum / out.tokens[j]!.length));
    }
    return items.map((_, i) => means.subarray(i * followUps.length, (i + 1) * followUps.length));
  }

  async score(items: ScoreItem[], opts: ScoreOptions = {}): Promise<Float32Array[]> {
    const P = this.config.positive.length;
    const mean = (xs: Float64Array): number => xs.reduce((s, x) => s + x, 0) / xs.length;
    const likelihoods = await this.followUpLikelihoods(items, opts);
    return likelihoods.map((ll) => Float32Array.of(mean(ll.subarray(0, P)) - mean(ll.subarray(P))));
  }
}
