// One catalog of coded errors for the whole library (the fastify FST_ERR_* pattern): every error a
// user can see has a stable code, an HTTP status for the server, and a message that names the bad
// input (file, row, field, node). Add new codes here, grouped by area, never ad hoc `new Error`s
// for user-facing failures.

export interface ErrorSpec {
  /** HTTP status the server answers with when this error reaches a route. */
  status: number;
  /** One-line description of the class of error, for docs. */
  summary: string;
}

export const ERROR_CATALOG = {
  // configuration and arguments
  ALIGNKIT_ERR_INVALID_ARGUMENT: { status: 400, summary: 'an argument or option has a bad value' },
  ALIGNKIT_ERR_UNKNOWN_NAME: { status: 400, summary: 'a name is not in the registry it is looked up in' },
  // files and formats
  ALIGNKIT_ERR_FILE_NOT_FOUND: { status: 404, summary: 'a file or directory does not exist' },
  ALIGNKIT_ERR_BAD_FORMAT: { status: 400, summary: 'a file is not in the format its name or contents claim' },
  // ONNX graphs and runtime
  ALIGNKIT_ERR_ONNX_MODEL: { status: 500, summary: 'an ONNX model is malformed or unsupported' },
  ALIGNKIT_ERR_GRAPH_BUILD: { status: 500, summary: 'a graph under construction is inconsistent' },
  ALIGNKIT_ERR_NO_GRADIENT_RULE: { status: 500, summary: 'an op on the path to a trainable parameter has no gradient rule' },
  ALIGNKIT_ERR_PROVIDER_MISSING: { status: 500, summary: 'the requested onnxruntime execution provider is not installed' },
  ALIGNKIT_ERR_SESSION: { status: 500, summary: 'an onnxruntime session failed to load or run' },
  ALIGNKIT_ERR_TENSOR: { status: 400, summary: 'a tensor has the wrong dtype, shape or size' },
  // model directories and tokenization
  ALIGNKIT_ERR_MODEL_DIR: { status: 400, summary: 'a model directory is missing a file or has a bad config' },
  ALIGNKIT_ERR_TOO_LONG: { status: 413, summary: 'an input is longer than the model or server allows' },
  // datasets
  ALIGNKIT_ERR_DATASET_ROW: { status: 400, summary: 'a dataset row is missing a field or has a wrong type' },
  ALIGNKIT_ERR_DATASET_SCHEMA: { status: 400, summary: 'a dataset matches none of the known column conventions' },
  // server
  ALIGNKIT_ERR_BATCH_TOO_LARGE: { status: 413, summary: 'a request holds more items than the batch cap' },
  ALIGNKIT_ERR_OVERLOADED: { status: 429, summary: 'the server is at its concurrency cap' },
  ALIGNKIT_ERR_UNKNOWN_MODEL: { status: 404, summary: 'a request names a model the server does not serve' },
  ALIGNKIT_ERR_BAD_REQUEST: { status: 400, summary: 'a request body does not match the route schema' },
  ALIGNKIT_ERR_INTERNAL: { status: 500, summary: 'an unexpected failure inside alignkit' },
  ALIGNKIT_ERR_NOT_FOUND: { status: 404, summary: 'no route matches the request method and path' },
  // training and optimization
  ALIGNKIT_ERR_NON_FINITE: { status: 500, summary: 'a loss or gradient became NaN or infinite' },
  ALIGNKIT_ERR_STATE: { status: 400, summary: 'saved state does not match what it is loaded into' },
  // routing, label store and annotation
  ALIGNKIT_ERR_UNAUTHORIZED: { status: 401, summary: 'a request lacks a valid API key' },
  ALIGNKIT_ERR_FORBIDDEN: { status: 403, summary: 'the API key is valid but may not do this (e.g. change another annotator\'s label)' },
  ALIGNKIT_ERR_UNKNOWN_PAIR: { status: 404, summary: 'a pair or label id is not in the label store' },
  ALIGNKIT_ERR_JUDGE: { status: 502, summary: 'an LM judge or tagger endpoint failed or answered in the wrong shape' },
  ALIGNKIT_ERR_STORE: { status: 500, summary: 'the label store file is unusable (e.g. its schema is newer than this code)' },
  // server availability
  ALIGNKIT_ERR_UNAVAILABLE: { status: 503, summary: 'the server cannot take this request now (a model worker is restarting or the server is shutting down); retry' },
  // label store
  ALIGNKIT_ERR_CONFLICT: { status: 409, summary: 'the label store holds something the request collides with (a duplicate id, a pair whose label quota is full or that is routed to the AI judge)' },
  // command line
  ALIGNKIT_ERR_USAGE: { status: 400, summary: 'a command line names an unknown flag or subcommand, lacks a flag\'s value or has a stray argument' },
  // devices
  ALIGNKIT_ERR_NO_DEVICE: { status: 500, summary: 'no usable GPU device: no Vulkan loader or driver, no WebGPU adapter, or only a software adapter that was not asked for' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export class AlignkitError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Structured context (file, row, field, node, ...) for programmatic handling. */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AlignkitError';
    this.code = code;
    this.status = ERROR_CATALOG[code].status;
    this.details = details;
  }
}

/** Shorthand used across the code base: `throw fail('ALIGNKIT_ERR_TENSOR', 'x has 3 dims, want 2', {name})`. */
export function fail(code: ErrorCode, message: string, details?: Record<string, unknown>, cause?: unknown): AlignkitError {
  return new AlignkitError(code, message, details, cause === undefined ? undefined : { cause });
}

export function isAlignkitError(e: unknown): e is AlignkitError {
  return e instanceof AlignkitError;
}
