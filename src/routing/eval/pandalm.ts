// PandaLM's 999 test pairs (WeOpenML/PandaLM data/testset-v1.json) with three human labels and
// two AI judges: the data on which routed hybrids are compared with random hybrids.

import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../../errors.js';
import { routingDataPath } from '../data-path.js';
import { majority } from '../labels.js';
import type { Preference, RoutingPair } from '../types.js';

/** PandaLM's label code: 0 = tie, 1 = response1 better, 2 = response2 better. */
const PANDALM_CODE: Record<string, Preference> = { '0': 'tie', '1': 'A', '2': 'B' };

/** Judge files and how each encodes its verdict ('garbage' and anything else map to null). */
export const PANDALM_JUDGES: Record<string, { file: string; read(rec: Record<string, unknown>): Preference | null }> = {
  'gpt-3.5-turbo': {
    file: 'gpt-3.5-turbo-testset-v1.json',
    read: (rec) => ({ '1': 'A', '2': 'B', Tie: 'tie' })[String(rec.gpt_result)] as Preference | undefined ?? null,
  },
  'pandalm-7b': {
    file: 'pandalm-7b-testset-v1.json',
    read: (rec) => PANDALM_CODE[String(rec.pandalm_result)] ?? null,
  },
};

export interface PandaLMData {
  pairs: RoutingPair[];
  /** Three human labels per pair. */
  annotators: Preference[][];
  /** Majority of the three (null when all three differ). */
  majority: (Preference | null)[];
  judges: Record<string, (Preference | null)[]>;
}

function readJson(file: string): Record<string, unknown>[] {
  if (!fs.existsSync(file)) throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `PandaLM file not found: ${file}`, { file });
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>[];
}

export function loadPandaLM(dir = routingDataPath('pandalm')): PandaLMData {
  const testFile = path.join(dir, 'testset-v1.json');
  const rows = readJson(testFile);
  const pairs: RoutingPair[] = [];
  const annotators: Preference[][] = [];
  rows.forEach((r, row) => {
    const labels = ['annotator1', 'annotator2', 'annotator3'].map((k) => {
      const p = PANDALM_CODE[String(r[k])];
      if (!p) throw fail('ALIGNKIT_ERR_DATASET_ROW', `${testFile}: row ${row} field ${k} is ${JSON.stringify(r[k])}, want 0, 1 or 2`, { file: testFile, row, field: k });
      return p;
    });
    const input = String(r.input ?? '').trim();
    pairs.push({
      id: String(r.idx),
      // The instruction, then its input after a blank line (the rules tagger reads the part after
      // the first blank line as in-context material).
      prompt: input ? `${r.instruction}\n\n${input}` : String(r.instruction),
      responseA: String(r.response1 ?? ''),
      responseB: String(r.response2 ?? ''),
      extra: { cmp_key: r.cmp_key, motivation_app: r.motivation_app },
    });
    annotators.push(labels);
  });
  const index = new Map(pairs.map((p, i) => [p.id, i]));
  const judges: Record<string, (Preference | null)[]> = {};
  for (const [name, spec] of Object.entries(PANDALM_JUDGES)) {
    const file = path.join(dir, spec.file);
    const out: (Preference | null)[] = new Array(pairs.length).fill(null);
    for (const rec of readJson(file)) {
      const i = index.get(String(rec.idx));
      if (i !== undefined) out[i] = spec.read(rec);
    }
    judges[name] = out;
  }
  return { pairs, annotators, majority: annotators.map((a) => majority(a)), judges };
}

/**
 * PandaLM as a generic pair file and gold file (what `alignkit route pandalm` writes): pair rows
 * with one flat `verdict:<judge>` column per AI judge, gold rows with the 3-annotator majority as
 * `gold` and the three labels as `annotators` (a routed pair gets one of them).
 */
export function pandalmFiles(data: PandaLMData): { pairs: Record<string, unknown>[]; gold: Record<string, unknown>[] } {
  return {
    pairs: data.pairs.map((p, i) => ({
      id: p.id,
      prompt: p.prompt,
      response_a: p.responseA,
      response_b: p.responseB,
      ...p.extra,
      ...Object.fromEntries(Object.entries(data.judges).map(([judge, labels]) => [`verdict:${judge}`, labels[i]])),
    })),
    gold: data.pairs.map((p, i) => ({ id: p.id, gold: data.majority[i], annotators: data.annotators[i] })),
  };
}
