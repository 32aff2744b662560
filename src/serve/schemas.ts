// JSON Schemas shared by the routes. Built from the config so that limits (characters per text)
// are part of validation and of the OpenAPI document. Validation is strict: Ajv's type coercion is
// off in app.ts, so `"response": 5` is a 400, not the string "5".

import { COMBINE_METHODS } from '../rewards/index.js';
import type { ServeConfig } from './config.js';

export function textSchema(cfg: ServeConfig, minLength: number) {
  return {
    description: 'a string, or a list of chat messages {role, content} (rendered by the model\'s chat template)',
    oneOf: [
      { type: 'string', minLength, maxLength: cfg.maxInputChars },
      {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          required: ['role', 'content'],
          additionalProperties: false,
          properties: { role: { type: 'string', minLength: 1, maxLength: 64 }, content: { type: 'string', maxLength: cfg.maxInputChars } },
        },
      },
    ],
  } as const;
}

export function itemSchema(cfg: ServeConfig) {
  return {
    type: 'object',
    description: 'A prompt (may be omitted or empty to score the response alone) and a response (may be empty: generation can return one).',
    required: ['response'],
    additionalProperties: false,
    properties: {
      prompt: textSchema(cfg, 0),
      response: textSchema(cfg, 0),
    },
  } as const;
}

/** Options every native scoring route takes. */
export function scoringOptionsSchema(cfg: ServeConfig) {
  return {
    models: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', minLength: 1 },
      description: 'Names of served models to use; default: all of them.',
    },
    truncate: { type: 'boolean', description: `Cut inputs longer than the model allows instead of failing (default ${cfg.autoTruncate}).` },
    combine: { type: 'string', enum: COMBINE_METHODS, description: `How models' rewards combine (default ${cfg.combine.method}).` },
    lambda: { type: 'number', minimum: 0, description: `Variance weight of the uncertainty combination (default ${cfg.combine.lambda}).` },
  } as const;
}

export const combineSchema = {
  type: 'object',
  properties: { method: { type: 'string' }, lambda: { type: 'number' } },
} as const;

export const errorSchema = {
  type: 'object',
  description: 'An error. `error` and `error_type` are the shape text-embeddings-inference answers with.',
  properties: {
    error: { type: 'string' },
    error_type: { type: 'string' },
    code: { type: 'string' },
    statusCode: { type: 'integer' },
    field: { type: 'string' },
    requestId: { type: 'string' },
  },
} as const;

export const errorResponses = { '4xx': errorSchema, '5xx': errorSchema } as const;
