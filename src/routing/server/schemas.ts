// JSON Schemas of the routing routes.

const pair = {
  type: 'object',
  required: ['id', 'prompt', 'response_a', 'response_b'],
  properties: {
    id: { type: 'string', minLength: 1 },
    prompt: { type: 'string' },
    response_a: { type: 'string' },
    response_b: { type: 'string' },
    extra: { type: 'object', additionalProperties: true },
  },
  additionalProperties: false,
} as const;

export const submitPairsSchema = {
  body: { type: 'object', required: ['pairs'], properties: { pairs: { type: 'array', items: pair, minItems: 1 } }, additionalProperties: false },
  response: { 200: { type: 'object', properties: { inserted: { type: 'integer' }, existing: { type: 'integer' } } } },
} as const;

export const routeSchema = {
  body: {
    type: 'object',
    required: ['strategy'],
    properties: {
      strategy: { type: 'string' },
      budget: { type: 'number', minimum: 0 },
      seed: { type: 'integer' },
      simulations: { type: 'integer', minimum: 1, maximum: 100000 },
      epsilon: { type: 'number' },
    },
    additionalProperties: false,
  },
  response: {
    200: {
      type: 'object',
      properties: { runId: { type: 'integer' }, human: { type: 'integer' }, ai: { type: 'integer' }, predicted: { type: ['number', 'null'] }, featuresComputed: { type: 'integer' } },
    },
  },
} as const;

export const aiLabelsSchema = {
  body: {
    type: 'object',
    properties: { pairIds: { type: 'array', items: { type: 'string' } }, all: { type: 'boolean' } },
    additionalProperties: false,
  },
  response: { 200: { type: 'object', properties: { judge: { type: 'string' }, labelled: { type: 'integer' } } } },
} as const;

export const createAnnotatorSchema = {
  body: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 }, id: { type: 'string', minLength: 1 } }, additionalProperties: false },
  response: { 201: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, apiKey: { type: 'string' } } } },
} as const;

const labelOut = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    pairId: { type: 'string' },
    annotatorId: { type: 'string' },
    scale: { type: 'integer' },
    preference: { type: 'string' },
    confidence: { type: 'number' },
    override: { type: 'boolean' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

const labelBody = {
  scale: { type: 'integer', minimum: -2, maximum: 2, description: '-2 A clearly better, -1 A slightly, 0 tie, 1 B slightly, 2 B clearly' },
  confidence: { type: 'number', minimum: 0, maximum: 1, default: 1 },
} as const;

export const submitLabelSchema = {
  body: { type: 'object', required: ['pairId', 'scale'], properties: { pairId: { type: 'string', minLength: 1 }, ...labelBody }, additionalProperties: false },
  response: {
    200: { type: 'object', properties: { label: labelOut, created: { type: 'boolean' }, changed: { type: 'boolean' } } },
    201: { type: 'object', properties: { label: labelOut, created: { type: 'boolean' }, changed: { type: 'boolean' } } },
  },
} as const;

export const overrideLabelSchema = {
  body: {
    type: 'object',
    required: ['pairId', 'annotatorId', 'scale'],
    properties: { pairId: { type: 'string', minLength: 1 }, annotatorId: { type: 'string', minLength: 1 }, ...labelBody },
    additionalProperties: false,
  },
  response: submitLabelSchema.response,
} as const;

export const deletePairSchema = {
  params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1 } } },
  response: { 200: { type: 'object', properties: { id: { type: 'string' }, deleted: { type: 'boolean' } } } },
} as const;

export const updateLabelSchema = {
  // Path parameters are text and validation does not coerce: a positive integer, as digits.
  params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[1-9][0-9]{0,14}$', description: 'a label id (a positive integer)' } } },
  body: { type: 'object', required: ['scale'], properties: labelBody, additionalProperties: false },
  response: { 200: { type: 'object', properties: { label: labelOut } } },
} as const;

export const exportSchema = {
  querystring: { type: 'object', properties: { format: { type: 'string', enum: ['jsonl', 'arrow', 'parquet'], default: 'jsonl' }, judge: { type: 'string' } }, additionalProperties: false },
} as const;

export const nextPairSchema = {
  response: {
    200: {
      type: 'object',
      properties: {
        annotator: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } } },
        pair: {
          anyOf: [
            { type: 'null' },
            { type: 'object', properties: { id: { type: 'string' }, prompt: { type: 'string' }, responseA: { type: 'string' }, responseB: { type: 'string' } } },
          ],
        },
      },
    },
  },
} as const;
