// Length statistics for `data inspect`: how long prompts and responses are, in characters of their
// text (message lists count the characters of their contents), so users can pick truncation limits.

import { responsesOf } from './tokenize.js';
import type { PreferenceExample, Text } from './types.js';

export interface LengthSummary {
  count: number;
  min: number;
  median: number;
  mean: number;
  p95: number;
  max: number;
}

export function textLength(text: Text): number {
  return typeof text === 'string' ? text.length : text.reduce((sum, m) => sum + m.content.length, 0);
}

/** Nearest-rank percentile of sorted values (p in [0, 1]). */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export function summarize(values: readonly number[]): LengthSummary {
  const sorted = values.slice().sort((a, b) => a - b);
  const total = sorted.reduce((s, v) => s + v, 0);
  return {
    count: sorted.length,
    min: sorted[0] ?? 0,
    median: percentile(sorted, 0.5),
    mean: sorted.length === 0 ? 0 : total / sorted.length,
    p95: percentile(sorted, 0.95),
    max: sorted[sorted.length - 1] ?? 0,
  };
}

/** Character-length summaries of the prompts and of all responses. */
export function lengthStats(examples: readonly PreferenceExample[]): { prompt: LengthSummary; response: LengthSummary } {
  return {
    prompt: summarize(examples.map((e) => textLength(e.prompt))),
    response: summarize(examples.flatMap((e) => responsesOf(e).map(textLength))),
  };
}
