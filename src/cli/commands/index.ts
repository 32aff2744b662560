import type { Command } from '../registry.js';
import { annotateCommand } from './annotate.js';
import { dataCommand } from './data.js';
import { evalCommand } from './eval.js';
import { generateCommand } from './generate.js';
import { lossCommand } from './loss.js';
import { pairsCommand } from './pairs.js';
import { routeCommand } from './route.js';
import { serveCommand } from './serve.js';
import { tokenizerCommand } from './tokenizer.js';
import { trainCommand } from './train.js';

/** Every CLI command, by name. */
export const COMMANDS: Command[] = [annotateCommand, dataCommand, evalCommand, generateCommand, lossCommand, pairsCommand, routeCommand, serveCommand, tokenizerCommand, trainCommand];
