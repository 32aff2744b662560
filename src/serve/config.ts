// The scoring server's configuration: one typed record, defaults in one place, validated once.
// Limits follow text-embeddings-inference's launcher defaults (router/src/main.rs):
// --max-client-batch-size 32, --max-concurrent-requests 512, --payload-limit 2000000.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail } from '../errors.js';
import { combineConfig, type CombineConfig } from '../rewards/index.js';
import type { SessionOptions } from '../graph/index.js';

export interface ModelSpec {
  /** A Hugging Face layout directory holding an ONNX sequence classifier. */
  dir: string;
  /** Name clients use in `models`; default: the model's own name. */
  name?: string;
  /** `{head: weight}` for multi-head models; default: the first head alone. */
  headWeights?: Record<string, number>;
  /** True for the untrained fixture model served when no model is given. */
  fixture?: boolean;
}

export interface ServeConfig {
  port: number;
  /** 127.0.0.1 so a dev server is not exposed; the Docker image passes --host 0.0.0.0. */
  host: string;
  models: ModelSpec[];
  /** Items per request; more is a 413 (TEI's max client batch size). */
  maxClientBatch: number;
  /** Requests in flight; more is a 429 (TEI's max concurrent requests). */
  maxConcurrent: number;
  /** Request body size in bytes; more is a 413 (TEI's payload limit). */
  bodyLimit: number;
  /** Characters in one text (a prompt, a response or a message); more is a 400 naming the field. */
  maxInputChars: number;
  /** Micro-batch collection window in ms: short, it adds at most this much latency when idle. */
  batchWindowMs: number;
  /** Most items per session run. */
  maxBatch: number;
  /** `truncate` for requests that do not say (TEI's --auto-truncate); off: too long is an error. */
  autoTruncate: boolean;
  /** How several models' rewards combine when a request does not say. */
  combine: CombineConfig;
  session: SessionOptions;
  /** Serve the OpenAPI document and Swagger UI under /docs. */
  docs: boolean;
  /** On SIGTERM, readiness is false this long before new connections are refused (balancer polling time). */
  drainDelayMs: number;
  /** On close, the longest wait for in-flight requests before their connections are cut. */
  shutdownTimeoutMs: number;
}

/** Package root, from src/serve or dist/serve alike, so the default model does not depend on the cwd. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Served when no model is given: alignkit-rm, the small GPT-2-style Bradley-Terry reward model that
 * `npm run build:models` trains on HH-RLHF pairs (its card: data/models/alignkit-rm/README.md).
 */
export const DEFAULT_MODEL: ModelSpec = { dir: path.join(PACKAGE_ROOT, 'data', 'models', 'alignkit-rm') };

/** The random-weight test fixture: fast to load, its scores mean nothing. */
export const FIXTURE_MODEL: ModelSpec = { dir: path.join(PACKAGE_ROOT, 'data', 'models', 'tiny-gpt2-rm'), fixture: true };

export const DEFAULT_SERVE_CONFIG: ServeConfig = {
  port: 8080,
  host: '127.0.0.1',
  models: [DEFAULT_MODEL],
  maxClientBatch: 32,
  maxConcurrent: 512,
  bodyLimit: 2 * 1024 * 1024,
  maxInputChars: 65_536,
  batchWindowMs: 2,
  maxBatch: 32,
  autoTruncate: false,
  combine: { method: 'mean', lambda: 0.5 },
  session: {},
  docs: true,
  drainDelayMs: 0,
  shutdownTimeoutMs: 30_000,
};

const POSITIVE_INTEGERS = ['maxClientBatch', 'maxConcurrent', 'bodyLimit', 'maxInputChars', 'maxBatch'] as const;
const NON_NEGATIVE_MS = ['batchWindowMs', 'drainDelayMs', 'shutdownTimeoutMs'] as const;

export function serveConfig(partial: Partial<ServeConfig> = {}): ServeConfig {
  const cfg: ServeConfig = { ...DEFAULT_SERVE_CONFIG, ...partial };
  cfg.models = partial.models ?? [DEFAULT_MODEL];
  for (const key of POSITIVE_INTEGERS)
    if (!Number.isInteger(cfg[key]) || cfg[key] < 1) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `${key} must be a positive integer, got ${cfg[key]}`, { field: key });
  if (!Number.isInteger(cfg.port) || cfg.port < 0 || cfg.port > 65535) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `port must be an integer in 0..65535, got ${cfg.port}`, { field: 'port' });
  for (const key of NON_NEGATIVE_MS)
    if (!Number.isFinite(cfg[key]) || cfg[key] < 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `${key} must be >= 0, got ${cfg[key]}`, { field: key });
  cfg.combine = combineConfig(cfg.combine, 'combine');
  return cfg;
}
