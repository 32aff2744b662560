export * from './pandalm.js';
export * from './routing-eval.js';
export * from './cross-fit.js';
export * from './rm-mix.js';
