export * from './model.js';
export * from './evaluate.js';
export * from './mixes.js';
export { ridgeFit, choleskySolve } from './linalg.js';
