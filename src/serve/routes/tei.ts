// text-embeddings-inference's `POST /predict`, so TEI reward clients can point at alignkit
// unchanged. Shapes as in TEI's router/src/http/types.rs (PredictRequest, PredictInput,
// Prediction) and server.rs `predict`:
//   inputs: "text" | ["text"] | ["text_a", "text_b"] (a pair) | [["text"], ["a", "b"], ...] (a batch)
//   raw_scores (default false): false applies softmax over the labels, or a sigmoid when there is one
//   label (core/src/infer.rs); truncate: default the server's auto-truncate.
//   answer: [{score, label}] for one input, [[{score, label}], ...] for a batch, each list sorted
//   by score, highest first.
// TEI serves one model; here /predict answers for the first served model, its heads being the labels.
// A single text is tokenized whole as TEI does (`wholeText`); a pair as (prompt, response).

import type { FastifyPluginAsync } from 'fastify';
import { sigmoid, type ScoreItem } from '../../rewards/index.js';
import { checkClientBatch, wholeText } from '../request-options.js';
import { errorResponses } from '../schemas.js';

type Sequence = string[];

interface PredictBody {
  inputs: string | Sequence | Sequence[];
  truncate?: boolean | null;
  raw_scores?: boolean;
}

/** TEI's untagged PredictInput: a batch is an array of arrays; anything else is one sequence. */
function sequences(inputs: PredictBody['inputs']): { batch: boolean; seqs: Sequence[] } {
  if (typeof inputs === 'string') return { batch: false, seqs: [[inputs]] };
  if (inputs.every((x) => typeof x === 'string')) return { batch: false, seqs: [inputs as Sequence] };
  return { batch: true, seqs: inputs as Sequence[] };
}

function toItem(seq: Sequence): ScoreItem {
  return seq.length === 2 ? { prompt: seq[0], response: seq[1] } : wholeText(seq[0]);
}

/** TEI's post-processing when raw_scores is false (a max-shifted softmax, or sigmoid for one label). */
function normalize(scores: Float32Array): number[] {
  const xs = [...scores];
  if (xs.length === 1) return [sigmoid(xs[0])];
  const max = Math.max(...xs);
  const exps = xs.map((x) => Math.exp(x - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

export const teiRoutes: FastifyPluginAsync = async (app) => {
  const cfg = app.serveConfig;
  const text = { type: 'string', minLength: 1, maxLength: cfg.maxInputChars };
  const sequence = { type: 'array', items: text, minItems: 1, maxItems: 2, description: 'A single text [text] or a pair [text_a, text_b].' };
  const prediction = { type: 'object', properties: { score: { type: 'number' }, label: { type: 'string' } } };
  const predictions = { type: 'array', items: prediction };

  app.post<{ Body: PredictBody }>('/predict', {
    config: { limited: true },
    schema: {
      tags: ['text-embeddings-inference'],
      summary: 'text-embeddings-inference compatible predictions for the first served model',
      body: {
        type: 'object',
        required: ['inputs'],
        properties: {
          inputs: {
            description: 'a string, a pair [text_a, text_b], or a batch [[text] or [text_a, text_b], ...]',
            oneOf: [text, sequence, { type: 'array', minItems: 1, items: sequence, description: 'A batch of texts and pairs.' }],
          },
          truncate: { type: ['boolean', 'null'], description: `Default: the server's auto-truncate (${cfg.autoTruncate}).` },
          raw_scores: { type: 'boolean', default: false },
        },
      },
      response: { 200: { anyOf: [predictions, { type: 'array', items: predictions }] }, ...errorResponses },
    },
  }, async (request) => {
    const body = request.body;
    const { batch, seqs } = sequences(body.inputs);
    if (batch) checkClientBatch(seqs.length, 'inputs', cfg);
    const model = app.scoring.models[0];
    const scored = await app.scoring.score(seqs.map(toItem), { models: [model.name], truncate: body.truncate ?? cfg.autoTruncate }, 'inputs');
    const lists = scored.members[0].headScores.map((s) => {
      const values = body.raw_scores ? [...s] : normalize(s);
      return values.map((score, i) => ({ score, label: model.batcher.heads[i] })).sort((a, b) => b.score - a.score);
    });
    return batch ? lists : lists[0];
  });
};
