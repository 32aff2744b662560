import type { Command } from '../registry.js';
import { annotateCommand } from './annotate.js';
import { dataCommand } from './data.js';
import { evalCommand } from './eval.js';
import { generateCommand } from './generate.js';
import { jobsCommand } from './jobs.js';
import { lossCommand } from './loss.js';
import { pairsCommand } from './pairs.js';
import { routeCommand } from './route.js';
import { scoreCommand } from './score.js';
import { serveCommand } from './serve.js';
import { tokenizerCommand } from './tokenizer.js';
import { trainCommand } from './train.js';

/** Every CLI command, by name. */
export const COMMANDS: Command[] = [annotateCommand, dataCommand, evalCommand, generateCommand, jobsCommand, lossCommand, pairsCommand, routeCommand, scoreCommand, serveCommand, tokenizerCommand, trainCommand];
