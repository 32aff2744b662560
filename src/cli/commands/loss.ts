// `alignkit loss list|inputs|eval`: the loss registry from the command line. `eval` runs a loss
// standalone over arrays in a JSON file (the same graph program the training step splices, plus
// its backward) and prints loss, metrics, next state and gradients as JSON.

import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { fail } from '../../errors.js';
import { LOSSES, createLoss, evaluateLoss, runLoss, type LossArrays } from '../../losses/index.js';
import type { Command } from '../registry.js';

const USAGE = `usage: alignkit loss <subcommand> [options]

  list                           every registered loss with its default hyperparameters
  inputs <name> [--hp JSON]      the inputs a configured loss reads: name, dims, side, meaning
  eval <name> --arrays FILE.json [--hp JSON] [--no-grad]
                                 loss, metrics, state and (unless --no-grad) the gradient of every
                                 policy-side input, as JSON. FILE.json maps input names to numbers
                                 or (nested) arrays, e.g. {"policy_chosen_logps": [[-0.5, -1.0]], ...}

example: alignkit loss eval dpo --hp '{"beta": 0.1}' --arrays batch.json`;

function parseHp(text: string | undefined): Record<string, unknown> {
  if (!text) return {};
  try {
    const hp = JSON.parse(text) as unknown;
    if (typeof hp !== 'object' || hp === null || Array.isArray(hp)) throw new Error('not an object');
    return hp as Record<string, unknown>;
  } catch (e) {
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--hp must be a JSON object, got ${text} (${(e as Error).message})`, { parameter: 'hp' });
  }
}

/** A number or a rectangular nested array -> {data, dims}; names the field when ragged. */
function toArray(field: string, v: unknown): LossArrays[string] {
  if (typeof v === 'number') return v;
  const dims: number[] = [];
  for (let x: unknown = v; Array.isArray(x); x = x[0]) dims.push(x.length);
  const data: number[] = [];
  const walk = (x: unknown, depth: number): void => {
    if (depth === dims.length) {
      if (typeof x !== 'number') throw fail('ALIGNKIT_ERR_BAD_FORMAT', `arrays field ${field}: expected a number at depth ${depth}, got ${JSON.stringify(x)}`, { field });
      data.push(x);
      return;
    }
    if (!Array.isArray(x) || x.length !== dims[depth]) throw fail('ALIGNKIT_ERR_BAD_FORMAT', `arrays field ${field} is not rectangular (want length ${dims[depth]} at depth ${depth})`, { field });
    for (const y of x) walk(y, depth + 1);
  };
  walk(v, 0);
  return { data, dims };
}

function readArrays(file: string): LossArrays {
  if (!fs.existsSync(file)) throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `arrays file not found: ${file}`, { file });
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw fail('ALIGNKIT_ERR_BAD_FORMAT', `${file} is not JSON: ${(e as Error).message}`, { file });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail('ALIGNKIT_ERR_BAD_FORMAT', `${file} must hold a JSON object of arrays`, { file });
  return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, toArray(k, v)]));
}

async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { hp: { type: 'string' }, arrays: { type: 'string' }, 'no-grad': { type: 'boolean', default: false } } });
  if (sub === 'list') {
    for (const def of Object.values(LOSSES)) console.log(`${def.name.padEnd(16)} ${JSON.stringify(def.defaults)}\n${''.padEnd(17)}${def.summary}`);
    return 0;
  }
  const name = positionals[0];
  if ((sub === 'inputs' || sub === 'eval') && !name) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `missing loss name\n\n${USAGE}`, { parameter: 'name' });
  if (sub === 'inputs') {
    for (const s of createLoss(name!, parseHp(values.hp)).inputs) console.log(`${s.name.padEnd(28)} [${s.dims.join(', ')}]`.padEnd(42) + ` ${s.side.padEnd(9)} ${s.doc}`);
    return 0;
  }
  if (sub === 'eval') {
    if (!values.arrays) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `missing --arrays\n\n${USAGE}`, { parameter: 'arrays' });
    const arrays = readArrays(values.arrays);
    const hp = parseHp(values.hp);
    if (values['no-grad']) {
      console.log(JSON.stringify(await evaluateLoss(name!, hp, arrays), null, 2));
      return 0;
    }
    const r = await runLoss(name!, hp, arrays);
    const gradients = Object.fromEntries(Object.entries(r.gradients).map(([k, g]) => [k, Array.from(g)]));
    console.log(JSON.stringify({ loss: r.loss, metrics: r.metrics, state: r.state, gradients }, null, 2));
    return 0;
  }
  console.error(USAGE);
  return 2;
}

export const lossCommand: Command = { name: 'loss', summary: 'list, inspect and evaluate the DPO-family and reward-model losses', usage: USAGE, run };
