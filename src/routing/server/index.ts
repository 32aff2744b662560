export * from './plugin.js';
export * from './page.js';
export * from './auth.js';
export * from './export.js';
export * from './actions.js';
export * from './key-file.js';
