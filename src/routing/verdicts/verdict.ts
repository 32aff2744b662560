// Several AI verdicts per pair: any number of judges, each optionally asked in both response
// orders, with a confidence or per-response scores where the judge gives them. A verdict's
// `preference` is always in the pair's own terms (A = response_a), whichever response the judge
// was shown first; `order` records that ('BA' = response_b shown first).

import { fail } from '../../errors.js';
import { parsePreference } from '../labels.js';
import type { Preference } from '../types.js';

export type JudgeOrder = 'AB' | 'BA';
export const JUDGE_ORDERS: readonly JudgeOrder[] = ['AB', 'BA'];

export interface Verdict {
  judge: string;
  order: JudgeOrder;
  preference: Preference | null;
  /** The judge's own confidence in [0, 1], when it gives one. */
  confidence?: number | null;
  /** Per-response scores (e.g. a 1-10 rating of each), when the judge gives them. */
  scoreA?: number | null;
  scoreB?: number | null;
}

/** Where a row was read, for errors. */
export interface RowSite {
  file?: string;
  row: number;
}

const where = (site: RowSite) => `${site.file ? `${site.file}: ` : ''}row ${site.row}`;

function optionalNumber(value: unknown, site: RowSite, field: string, range?: [number, number]): number | null {
  if (value === null || value === undefined || value === '') return null;
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  if (!Number.isFinite(n) || (range && (n < range[0] || n > range[1]))) {
    throw fail('ALIGNKIT_ERR_DATASET_ROW', `${where(site)}: field '${field}' is ${JSON.stringify(value)}, want ${range ? `a number in [${range[0]}, ${range[1]}]` : 'a number'}`, { file: site.file, row: site.row, field });
  }
  return n;
}

function checkJudgeName(judge: unknown, site: RowSite, field: string): string {
  if (typeof judge !== 'string' || judge === '' || judge.includes(':')) {
    throw fail('ALIGNKIT_ERR_DATASET_ROW', `${where(site)}: field '${field}' needs a judge name without ':', got ${JSON.stringify(judge)}`, { file: site.file, row: site.row, field });
  }
  return judge;
}

/** Flat columns, for formats without nested values (Parquet, Arrow): `verdict:<judge>[:swapped][:confidence|:score_a|:score_b]`. */
export const VERDICT_COLUMN_PREFIX = 'verdict:';
const FLAT_FIELDS: Record<string, 'preference' | 'confidence' | 'scoreA' | 'scoreB'> = { '': 'preference', confidence: 'confidence', score_a: 'scoreA', score_b: 'scoreB' };

function parseFlatColumn(column: string, site: RowSite): { judge: string; order: JudgeOrder; field: 'preference' | 'confidence' | 'scoreA' | 'scoreB' } {
  const parts = column.slice(VERDICT_COLUMN_PREFIX.length).split(':');
  const judge = checkJudgeName(parts[0], site, column);
  const swapped = parts[1] === 'swapped';
  const rest = parts.slice(swapped ? 2 : 1);
  const field = rest.length === 0 ? FLAT_FIELDS[''] : rest.length === 1 ? FLAT_FIELDS[rest[0]!] : undefined;
  if (!field || rest[0] === '') {
    throw fail('ALIGNKIT_ERR_DATASET_ROW', `${where(site)}: column '${column}' is not a verdict column; they are verdict:JUDGE[:swapped][:confidence|:score_a|:score_b]`, { file: site.file, row: site.row, field: column });
  }
  return { judge, order: swapped ? 'BA' : 'AB', field };
}

function fromObject(v: unknown, site: RowSite, k: number): Verdict {
  const field = `verdicts[${k}]`;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw fail('ALIGNKIT_ERR_DATASET_ROW', `${where(site)}: ${field} is not an object {judge, order, preference, ...}`, { file: site.file, row: site.row, field });
  const r = v as Record<string, unknown>;
  const order = r.order ?? 'AB';
  if (order !== 'AB' && order !== 'BA') throw fail('ALIGNKIT_ERR_DATASET_ROW', `${where(site)}: ${field}.order is ${JSON.stringify(order)}, want AB or BA`, { file: site.file, row: site.row, field: `${field}.order` });
  return {
    judge: checkJudgeName(r.judge, site, `${field}.judge`),
    order,
    preference: parsePreference(r.preference, { file: site.file, row: site.row, field: `${field}.preference` }),
    confidence: optionalNumber(r.confidence, site, `${field}.confidence`, [0, 1]),
    scoreA: optionalNumber(r.score_a, site, `${field}.score_a`),
    scoreB: optionalNumber(r.score_b, site, `${field}.score_b`),
  };
}

/**
 * The verdicts of one pair-file row: a `verdicts` list of {judge, order, preference, confidence,
 * score_a, score_b} objects (JSONL/JSON), and/or flat `verdict:...` columns (any format). A judge
 * asked twice in the same order is refused (which one would count?).
 */
export function verdictsFromRow(row: Record<string, unknown>, site: RowSite): Verdict[] {
  const out: Verdict[] = [];
  if (row.verdicts !== undefined && row.verdicts !== null) {
    if (!Array.isArray(row.verdicts)) throw fail('ALIGNKIT_ERR_DATASET_ROW', `${where(site)}: field 'verdicts' is not a list`, { file: site.file, row: site.row, field: 'verdicts' });
    row.verdicts.forEach((v, k) => out.push(fromObject(v, site, k)));
  }
  const flat = new Map<string, Verdict>();
  for (const [column, value] of Object.entries(row)) {
    if (!column.startsWith(VERDICT_COLUMN_PREFIX)) continue;
    const { judge, order, field } = parseFlatColumn(column, site);
    const key = `${judge}\u0000${order}`;
    const v = flat.get(key) ?? { judge, order, preference: null };
    if (field === 'preference') v.preference = parsePreference(value, { file: site.file, row: site.row, field: column });
    else v[field] = optionalNumber(value, site, column, field === 'confidence' ? [0, 1] : undefined);
    flat.set(key, v);
  }
  out.push(...flat.values());
  const seen = new Set<string>();
  for (const v of out) {
    const key = `${v.judge} ${v.order}`;
    if (seen.has(key)) throw fail('ALIGNKIT_ERR_DATASET_ROW', `${where(site)}: judge '${v.judge}' has two verdicts in order ${v.order}`, { file: site.file, row: site.row, field: 'verdicts' });
    seen.add(key);
  }
  return out;
}

/** Judges in order of first appearance over the pool: the first is the tie-breaker of the aggregates. */
export function judgeNames(pool: readonly (readonly Verdict[])[]): string[] {
  const names: string[] = [];
  for (const vs of pool) for (const v of vs) if (!names.includes(v.judge)) names.push(v.judge);
  return names;
}

/** One judge's verdict on a pair with its orders combined. */
export interface JudgeVerdict {
  preference: Preference | null;
  /** Mean confidence over the orders that gave one. */
  confidence: number | null;
  /** Mean scoreA - scoreB over the orders that gave scores. */
  margin: number | null;
  /** Asked in both orders with two different usable answers. */
  inconsistent: boolean;
  /** Some order was asked and gave no usable answer. */
  missing: boolean;
}

const mean = (xs: number[]): number | null => (xs.length === 0 ? null : xs.reduce((s, v) => s + v, 0) / xs.length);

/**
 * A judge's orders combined as "Judging LLM-as-a-Judge" (Zheng et al. 2023, sec. 3.3) does for
 * position bias: a response wins only if it is preferred in both orders; two different answers
 * are a tie. One usable answer stands alone. Undefined when the judge gave no verdict on the pair.
 */
export function judgeVerdict(verdicts: readonly Verdict[], judge: string): JudgeVerdict | undefined {
  const mine = verdicts.filter((v) => v.judge === judge);
  if (mine.length === 0) return undefined;
  const usable = mine.map((v) => v.preference).filter((p): p is Preference => p !== null);
  const inconsistent = usable.length === 2 && usable[0] !== usable[1];
  return {
    preference: usable.length === 0 ? null : inconsistent ? 'tie' : usable[0]!,
    confidence: mean(mine.flatMap((v) => (v.confidence === null || v.confidence === undefined ? [] : [v.confidence]))),
    margin: mean(mine.flatMap((v) => (v.scoreA === null || v.scoreA === undefined || v.scoreB === null || v.scoreB === undefined ? [] : [v.scoreA - v.scoreB]))),
    inconsistent,
    missing: usable.length < mine.length,
  };
}
