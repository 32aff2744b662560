export * from './catalog.js';
export * from './text.js';
export * from './lexical.js';
export * from './extract.js';
export * from './embedding.js';
export * from './numeric.js';
export * from './sets.js';
