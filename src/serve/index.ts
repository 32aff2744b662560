// Public names of alignkit/serve: the Fastify scoring server, its config, and its building blocks.
export { buildServer, type BuildServerOptions } from './app.js';
export { serveConfig, DEFAULT_SERVE_CONFIG, DEFAULT_MODEL, FIXTURE_MODEL, PACKAGE_ROOT, type ServeConfig, type ModelSpec } from './config.js';
export { MicroBatcher, type BatcherConfig, type BatchObserver } from './batcher.js';
export { ConcurrencyLimiter, type Permit } from './limiter.js';
export { ScoringService, type ServedModel, type ScoreRequest } from './scoring.js';
export { WorkerRewardModel } from './inference/worker-model.js';
export { SupervisedWorker, type SupervisorHooks } from './inference/supervisor.js';
export { MetricsRegistry, createMetricsRegistry } from './metrics.js';
export { errorHandler, errorEnvelope, sendError, classifyError, describeValidation, type ErrorBody, type ErrorAnswer } from './errors.js';
export { useStrictValidation, STRICT_AJV_OPTIONS } from './validation.js';
export { drain, type ShutdownConfig } from './shutdown.js';
export { generateRoutes, DEFAULT_GENERATE_LIMITS, type GenerateLimits } from './routes/generate.js';
