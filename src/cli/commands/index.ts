import type { Command } from '../registry.js';
import { dataCommand } from './data.js';
import { routeCommand } from './route.js';
import { serveCommand } from './serve.js';

/** Every CLI command, by name. */
export const COMMANDS: Command[] = [dataCommand, routeCommand, serveCommand];
