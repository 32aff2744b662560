// `alignkit loss list|inputs|eval`: the loss registry from the command line. `eval` runs a loss
// standalone over arrays in a JSON file (the same graph program the training step splices, plus
// its backward) and prints loss, metrics, next state and gradients as JSON.

import fs from 'node:fs';
import { fail } from '../../errors.js';
import { LOSSES, createLoss, evaluateLoss, runLoss, type LossArrays } from '../../losses/index.js';
import { runSubcommand, type Command, type FlagTable } from '../registry.js';
import { parseFlags, usageText } from '../options.js';

const HP_FLAG: FlagTable = { hp: { type: 'string', value: 'JSON', help: "hyperparameters as a JSON object, e.g. '{\"beta\": 0.1}' (default: the loss's defaults)" } };
const EVAL_FLAGS: FlagTable = {
  ...HP_FLAG,
  arrays: { type: 'string', value: 'FILE.json', help: 'input names to numbers or (nested) arrays, e.g. {"policy_chosen_logps": [[-0.5, -1.0]], ...}' },
  'no-grad': { type: 'boolean', help: 'loss, metrics and state only, no gradients' },
};

const LIST_USAGE = usageText({ synopsis: 'alignkit loss list', description: 'Every registered loss with its default hyperparameters.' });
const INPUTS_USAGE = usageText({ synopsis: 'alignkit loss inputs NAME [--hp JSON]', description: 'The inputs a configured loss reads: name, dims, side, meaning.', flags: HP_FLAG });
const EVAL_USAGE = usageText({
  synopsis: 'alignkit loss eval NAME --arrays FILE.json [--hp JSON] [--no-grad]',
  description: 'Runs a loss standalone (the graph program the training step splices, plus its backward) and prints\nloss, metrics, state and the gradient of every policy-side input as JSON.',
  flags: EVAL_FLAGS,
  notes: "example: alignkit loss eval dpo --hp '{\"beta\": 0.1}' --arrays batch.json",
});

const USAGE = `usage: alignkit loss <subcommand> [flags]

  list                           every registered loss with its default hyperparameters
  inputs NAME [--hp JSON]        the inputs a configured loss reads: name, dims, side, meaning
  eval NAME --arrays FILE.json [--hp JSON] [--no-grad]
                                 loss, metrics, state and (unless --no-grad) the gradient of every
                                 policy-side input, as JSON

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

async function list(): Promise<number> {
  for (const def of Object.values(LOSSES)) console.log(`${def.name.padEnd(16)} ${JSON.stringify(def.defaults)}\n${''.padEnd(17)}${def.summary}`);
  return 0;
}

function lossName(positionals: string[], sub: string): string {
  if (!positionals[0]) throw fail('ALIGNKIT_ERR_USAGE', `loss ${sub} needs a loss NAME (alignkit loss list shows them)`, { parameter: 'name' });
  return positionals[0];
}

async function inputs(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('loss inputs', HP_FLAG, argv, ['NAME']);
  for (const s of createLoss(lossName(positionals, 'inputs'), parseHp(values.hp as string | undefined)).inputs)
    console.log(`${s.name.padEnd(28)} [${s.dims.join(', ')}]`.padEnd(42) + ` ${s.side.padEnd(9)} ${s.doc}`);
  return 0;
}

async function evalLoss(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('loss eval', EVAL_FLAGS, argv, ['NAME']);
  const name = lossName(positionals, 'eval');
  if (!values.arrays) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'missing --arrays (alignkit loss eval --help)', { parameter: 'arrays' });
  const arrays = readArrays(values.arrays as string);
  const hp = parseHp(values.hp as string | undefined);
  if (values['no-grad']) {
    console.log(JSON.stringify(await evaluateLoss(name, hp, arrays), null, 2));
    return 0;
  }
  const r = await runLoss(name, hp, arrays);
  const gradients = Object.fromEntries(Object.entries(r.gradients).map(([k, g]) => [k, Array.from(g)]));
  console.log(JSON.stringify({ loss: r.loss, metrics: r.metrics, state: r.state, gradients }, null, 2));
  return 0;
}

const SUBCOMMANDS: Record<string, Command> = {
  list: { name: 'list', summary: 'every registered loss with its default hyperparameters', usage: LIST_USAGE, flags: {}, run: list },
  inputs: { name: 'inputs', summary: 'the inputs a configured loss reads', usage: INPUTS_USAGE, flags: HP_FLAG, positionals: ['NAME'], run: inputs },
  eval: { name: 'eval', summary: 'run a loss standalone over arrays in a JSON file', usage: EVAL_USAGE, flags: EVAL_FLAGS, positionals: ['NAME'], run: evalLoss },
};

export const lossCommand: Command = {
  name: 'loss',
  summary: 'list, inspect and evaluate the DPO-family and reward-model losses',
  usage: USAGE,
  subcommands: SUBCOMMANDS,
  run: runSubcommand('loss', SUBCOMMANDS),
};
