export * from './label-store.js';
export * from './migrations.js';
export * from './verdicts.js';
