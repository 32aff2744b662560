import type { Command } from '../registry.js';

/** Every CLI command, by name. */
export const COMMANDS: Command[] = [];
