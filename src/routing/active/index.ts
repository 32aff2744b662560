export * from './protocol.js';
export * from './fit.js';
export * from './pilot.js';
