// OpenRLHF's remote reward model protocol, so its PPO/GRPO loops can use alignkit as
// `--remote_rm_url http://host:port/get_reward` unchanged. From OpenRLHF:
//   openrlhf/utils/remote_rm_utils.py posts {"query": [...]} (newer versions add "prompts" and
//   "labels", sometimes "metas") and reads the "rewards" key of the answer;
//   openrlhf/cli/serve_rm.py answers {"rewards": [...]};
//   newer reward-function contracts return {"rewards", "scores", "extra_logs"}, `scores` feeding
//   dynamic filtering.
// Every query is the full prompt + response text with the chat template already applied. When the
// request also sends `prompts` (newer OpenRLHF does) and prompts[i] is a prefix of query[i], the
// query is split there and scored exactly as POST /v1/score scores that {prompt, response}: the
// same ids, so the same reward. Otherwise the query is scored as one text, tokenized whole with the
// tokenizer's special tokens as OpenRLHF's own serve_rm.py does (`wholeText`); for decoder models
// that equals /v1/score's ids whenever tokenizing prompt and response apart gives the same ids as
// tokenizing them together (byte-level BPE split at a space, as in "Assistant:" + " Hi"), and for
// encoder models it is the single-text encoding ([CLS] text [SEP]) rather than the pair one.
// `labels` are accepted and not used. The reward is the combination of all served models (the
// server's default combination); `scores` repeats it, as a reward model has no separate filter score.

import type { FastifyPluginAsync } from 'fastify';
import type { ScoreItem } from '../../rewards/index.js';
import { checkClientBatch, wholeText } from '../request-options.js';
import { errorResponses } from '../schemas.js';

interface GetRewardBody {
  query: string[];
  prompts?: unknown[];
}

/** query[i] split after prompts[i] when that is its prefix, else the whole query as one text. */
function toItem(query: string, prompt: unknown): ScoreItem {
  if (typeof prompt === 'string' && prompt.length > 0 && query.startsWith(prompt)) return { prompt, response: query.slice(prompt.length) };
  return wholeText(query);
}

export const openrlhfRoutes: FastifyPluginAsync = async (app) => {
  const cfg = app.serveConfig;
  const numbers = { type: 'array', items: { type: 'number' } };

  app.post<{ Body: GetRewardBody }>('/get_reward', {
    config: { limited: true },
    schema: {
      tags: ['OpenRLHF'],
      summary: 'OpenRLHF remote reward model: {"query": [...]} -> {"rewards": [...]}',
      body: {
        type: 'object',
        required: ['query'],
        properties: {
          query: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1, maxLength: cfg.maxInputChars }, description: 'Full prompt + response texts.' },
          prompts: { type: 'array', description: 'The prompt part of each query: where prompts[i] is a prefix of query[i], the query is scored as that (prompt, response), exactly as /v1/score would.' },
          labels: { type: 'array', description: 'Accepted for compatibility, not used.' },
        },
      },
      response: { 200: { type: 'object', properties: { rewards: numbers, scores: numbers, extra_logs: { type: 'object', additionalProperties: true } } }, ...errorResponses },
    },
  }, async (request) => {
    const { query, prompts } = request.body;
    checkClientBatch(query.length, 'query', cfg);
    const scores = await app.scoring.score(query.map((q, i) => toItem(q, prompts?.[i])), { truncate: cfg.autoTruncate, combine: cfg.combine }, 'query');
    return { rewards: scores.rewards, scores: scores.rewards, extra_logs: {} };
  });
};
