// OpenRLHF's remote reward model protocol, so its PPO/GRPO loops can use alignkit as
// `--remote_rm_url http://host:port/get_reward` unchanged. From OpenRLHF:
//   openrlhf/utils/remote_rm_utils.py posts {"query": [...]} (newer versions add "prompts" and
//   "labels", sometimes "metas") and reads the "rewards" key of the answer;
//   openrlhf/cli/serve_rm.py answers {"rewards": [...]};
//   newer reward-function contracts return {"rewards", "scores", "extra_logs"}, `scores` feeding
//   dynamic filtering.
// Every query is the full prompt + response text with the chat template already applied, so it is
// scored as ONE text: prompt '' and response = query. `prompts` and `labels` are accepted and not
// used. The reward is the combination of all served models (the server's default combination);
// `scores` repeats it, as a reward model has no separate filter score.

import type { FastifyPluginAsync } from 'fastify';
import { checkClientBatch } from '../request-options.js';
import { errorResponses } from '../schemas.js';

interface GetRewardBody {
  query: string[];
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
          prompts: { type: 'array', description: 'Accepted for compatibility, not used.' },
          labels: { type: 'array', description: 'Accepted for compatibility, not used.' },
        },
      },
      response: { 200: { type: 'object', properties: { rewards: numbers, scores: numbers, extra_logs: { type: 'object', additionalProperties: true } } }, ...errorResponses },
    },
  }, async (request) => {
    const { query } = request.body;
    checkClientBatch(query.length, 'query', cfg);
    const scores = await app.scoring.score(query.map((q) => ({ prompt: '', response: q })), { truncate: cfg.autoTruncate, combine: cfg.combine }, 'query');
    return { rewards: scores.rewards, scores: scores.rewards, extra_logs: {} };
  });
};
