export * from './strategies.js';
export * from './budget.js';
export * from './gain.js';
export * from './knapsack.js';
