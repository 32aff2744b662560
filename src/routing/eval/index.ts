export * from './pandalm.js';
export * from './budgeted.js';
export * from './rm-mix.js';
export * from './split.js';
