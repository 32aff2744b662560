// alignkit's root entry: the error catalog and every area as a namespace. Areas are also importable
// on their own (`alignkit/graph`, `alignkit/optim`, ...), which is the way to go when only one is
// needed.
export { AlignkitError, ERROR_CATALOG, fail, isAlignkitError, type ErrorCode, type ErrorSpec } from './errors.js';
export * as graph from './graph/index.js';
export * as models from './models/index.js';
export * as datasets from './datasets/index.js';
export * as optim from './optim/index.js';
export * as losses from './losses/index.js';
export * as train from './train/index.js';
export * as rewards from './rewards/index.js';
export * as generate from './generate/index.js';
export * as routing from './routing/index.js';
export * as serve from './serve/index.js';
export * as evaluation from './eval/index.js';
export * as tokenizers from './tokenizers/index.js';
