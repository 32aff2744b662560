export * from './verdict.js';
export * from './aggregate.js';
export * from './stats.js';
export * from './reliability.js';
export * from './reward-margins.js';
