// Pairwise conventions (prompt, chosen, rejected) in the shapes Hugging Face datasets use.

import type { Message, PairedExample, Row, Text } from '../types.js';
import type { Convention } from './convention.js';
import { definedOnly, isMessageList, isRecord, optionalSource, requireNumber, requireString, requireText, rowError, rowId, typeName, type RowContext } from './fields.js';

const ID_COLUMNS = ['id'];

/** `annotator1`, `annotator2`, ... in numeric order. */
function annotatorColumns(row: Row): string[] {
  return Object.keys(row)
    .filter((k) => /^annotator\d+$/.test(k))
    .sort((a, b) => Number(a.slice(9)) - Number(b.slice(9)));
}

/** Leading messages shared by both lists, compared by role and content. */
function commonMessagePrefix(a: Message[], b: Message[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n]!.role === b[n]!.role && a[n]!.content === b[n]!.content) n++;
  return n;
}

/** Longest common prefix of two strings, backing off one character when it ends in a space (as TRL's extract_prompt does). */
function commonStringPrefix(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n > 0 && n < a.length && a[n - 1] === ' ' ? n - 1 : n;
}

/**
 * TRL's maybe_extract_prompt: an explicit prompt is kept when it has the same style (string or
 * messages) as the responses; otherwise (absent, or a string prompt beside message-list responses,
 * as in HuggingFaceH4/ultrafeedback_binarized) the prompt is the shared prefix of chosen and rejected.
 */
export function resolvePairedPrompt(promptValue: unknown, chosen: Text, rejected: Text, ctx: RowContext): { prompt: Text; chosen: Text; rejected: Text } {
  const prompt = promptValue === undefined || promptValue === null ? undefined : requireText(promptValue, 'prompt', ctx);
  if (prompt !== undefined && typeof prompt === typeof chosen) return { prompt, chosen, rejected };
  if (typeof chosen === 'string' && typeof rejected === 'string') {
    const n = commonStringPrefix(chosen, rejected);
    return { prompt: chosen.slice(0, n), chosen: chosen.slice(n), rejected: rejected.slice(n) };
  }
  if (Array.isArray(chosen) && Array.isArray(rejected)) {
    const n = commonMessagePrefix(chosen, rejected);
    return { prompt: chosen.slice(0, n), chosen: chosen.slice(n), rejected: rejected.slice(n) };
  }
  throw rowError(ctx, 'rejected', `must have the same form as "chosen" (both strings or both message lists), got ${typeName(rejected)} beside ${typeName(chosen)}`);
}

/**
 * Per-annotator labels of a generic paired file: an `annotator_labels` list, else `annotator1..N`
 * columns. Taken as given: +1 annotator preferred chosen, -1 rejected, 0 tie (the record's convention).
 */
function optionalAnnotatorLabels(row: Row, ctx: RowContext): number[] | undefined {
  // `annotatorLabels` is how alignkit writes normalized records, so they load back unchanged.
  for (const column of ['annotator_labels', 'annotatorLabels']) {
    const value = row[column];
    if (value === undefined || value === null) continue;
    if (!Array.isArray(value)) throw rowError(ctx, column, `must be a list of numbers, got ${typeName(value)}`);
    return value.map((v, i) => requireNumber(v, `${column}[${i}]`, ctx));
  }
  const columns = annotatorColumns(row);
  return columns.length === 0 ? undefined : columns.map((c) => requireNumber(row[c], c, ctx));
}

/** The optional columns any paired file may carry: margin, per-annotator labels, source, tie. */
function optionalPairedColumns(row: Row, ctx: RowContext): Pick<PairedExample, 'margin' | 'annotatorLabels' | 'source' | 'tie'> {
  const margin = row.margin === undefined || row.margin === null ? undefined : requireNumber(row.margin, 'margin', ctx);
  if (row.tie !== undefined && row.tie !== null && typeof row.tie !== 'boolean') throw rowError(ctx, 'tie', `must be a boolean when present, got ${typeName(row.tie)}`);
  const tie = row.tie === true ? true : undefined;
  return { margin, annotatorLabels: optionalAnnotatorLabels(row, ctx), tie, ...optionalSource(row, ctx) };
}

function pairedRecord(row: Row, ctx: RowContext, idColumns: readonly string[], fields: Omit<PairedExample, 'id'>): PairedExample {
  return definedOnly({ id: rowId(row, ctx, idColumns), ...optionalPairedColumns(row, ctx), ...fields });
}

const isText = (v: unknown): boolean => typeof v === 'string' || isMessageList(v);

/** TRL standard format: prompt, chosen, rejected as strings (prompt may be implicit). */
export const TRL_PAIRED: Convention<'paired'> = {
  name: 'trl-paired',
  kind: 'paired',
  columns: 'prompt?: string, chosen: string, rejected: string',
  matches: (row) => typeof row.chosen === 'string' && typeof row.rejected === 'string' && (row.prompt === undefined || typeof row.prompt === 'string'),
  normalize(row, ctx) {
    const chosen = requireText(row.chosen, 'chosen', ctx);
    const rejected = requireText(row.rejected, 'rejected', ctx);
    return pairedRecord(row, ctx, ID_COLUMNS, resolvePairedPrompt(row.prompt, chosen, rejected, ctx));
  },
};

/** TRL conversational format: chosen/rejected message lists, prompt a message list or implicit (shared prefix). */
export const TRL_CONVERSATIONAL: Convention<'paired'> = {
  name: 'trl-conversational',
  kind: 'paired',
  columns: 'prompt?: messages, chosen: messages, rejected: messages',
  matches: (row) => isMessageList(row.chosen) && isMessageList(row.rejected) && (row.prompt === undefined || isText(row.prompt)),
  normalize: TRL_PAIRED.normalize,
};

const HH_ASSISTANT_MARKER = '\n\nAssistant:';

/**
 * Anthropic HH-RLHF: chosen and rejected are whole dialogues that differ only in the last Assistant
 * reply. The prompt is their common prefix up to and including the last "\n\nAssistant:" (the split
 * TRL's hh-rlhf preprocessing script makes); the responses are what follows it.
 */
export const HH_RLHF: Convention<'paired'> = {
  name: 'hh-rlhf',
  kind: 'paired',
  columns: 'chosen: "\\n\\nHuman: ... \\n\\nAssistant: ..." dialogue, rejected: same (no prompt column)',
  matches: (row) => row.prompt === undefined && typeof row.chosen === 'string' && typeof row.rejected === 'string' && row.chosen.includes(HH_ASSISTANT_MARKER),
  normalize(row, ctx) {
    const chosen = requireString(row, 'chosen', ctx);
    const rejected = requireString(row, 'rejected', ctx);
    let shared = 0;
    while (shared < chosen.length && shared < rejected.length && chosen[shared] === rejected[shared]) shared++;
    const marker = shared < HH_ASSISTANT_MARKER.length ? -1 : chosen.lastIndexOf(HH_ASSISTANT_MARKER, shared - HH_ASSISTANT_MARKER.length);
    if (marker < 0) throw rowError(ctx, 'chosen', `has no "\\n\\nAssistant:" turn shared with "rejected", so the prompt cannot be split off`);
    const cut = marker + HH_ASSISTANT_MARKER.length;
    return pairedRecord(row, ctx, ID_COLUMNS, { prompt: chosen.slice(0, cut), chosen: chosen.slice(cut), rejected: rejected.slice(cut) });
  },
};

/** GPT-4 scores as trl-lib's sample keeps them (`metadata.score_*`) or as HuggingFaceH4's split does (top-level `score_*`). */
function ultraFeedbackScores(row: Row): { chosen: unknown; rejected: unknown; where: string } | undefined {
  if (isRecord(row.metadata) && 'score_chosen' in row.metadata) return { chosen: row.metadata.score_chosen, rejected: row.metadata.score_rejected, where: 'metadata.' };
  if ('score_chosen' in row) return { chosen: row.score_chosen, rejected: row.score_rejected, where: '' };
  return undefined;
}

/** UltraFeedback binarized: prompt, chosen, rejected plus GPT-4 scores; margin = score_chosen - score_rejected, equal scores are ties. */
export const ULTRAFEEDBACK_BINARIZED: Convention<'paired'> = {
  name: 'ultrafeedback-binarized',
  kind: 'paired',
  columns: 'prompt, chosen, rejected (strings or messages), metadata.score_chosen / metadata.score_rejected (or top-level score_chosen / score_rejected)',
  matches: (row) => isText(row.chosen) && isText(row.rejected) && ultraFeedbackScores(row) !== undefined,
  normalize(row, ctx) {
    const scores = ultraFeedbackScores(row);
    if (!scores) throw rowError(ctx, 'metadata.score_chosen', 'is missing (neither metadata.score_chosen nor score_chosen is present)');
    const scoreChosen = requireNumber(scores.chosen, `${scores.where}score_chosen`, ctx);
    const scoreRejected = requireNumber(scores.rejected, `${scores.where}score_rejected`, ctx);
    const chosen = requireText(row.chosen, 'chosen', ctx);
    const rejected = requireText(row.rejected, 'rejected', ctx);
    const margin = row.margin === undefined || row.margin === null ? scoreChosen - scoreRejected : requireNumber(row.margin, 'margin', ctx);
    const record = pairedRecord(row, ctx, ['id', 'prompt_id', 'source_index'], resolvePairedPrompt(row.prompt, chosen, rejected, ctx));
    return { ...record, margin, ...(scoreChosen === scoreRejected ? { tie: true } : {}) };
  },
};

/** LLaMA-Factory's ShareGPT role tags mapped to chat-template roles (its data/README documents the tags). */
const SHAREGPT_ROLES: Record<string, string> = {
  human: 'user',
  user: 'user',
  gpt: 'assistant',
  assistant: 'assistant',
  system: 'system',
  function_call: 'function_call',
  observation: 'observation',
};

function shareGptMessage(value: unknown, field: string, ctx: RowContext): Message {
  if (!isRecord(value)) throw rowError(ctx, field, `must be a {from, value} object, got ${typeName(value)}`);
  if (typeof value.from !== 'string') throw rowError(ctx, `${field}.from`, `must be a string, got ${typeName(value.from)}`);
  const role = SHAREGPT_ROLES[value.from];
  if (role === undefined) throw rowError(ctx, `${field}.from`, `must be one of ${Object.keys(SHAREGPT_ROLES).join(', ')}, got "${value.from}"`);
  if (typeof value.value !== 'string') throw rowError(ctx, `${field}.value`, `must be a string, got ${typeName(value.value)}`);
  return { role, content: value.value };
}

/** LLaMA-Factory ShareGPT DPO: `conversations` history plus `chosen`/`rejected` {from, value} replies. */
export const SHAREGPT_DPO: Convention<'paired'> = {
  name: 'sharegpt-dpo',
  kind: 'paired',
  columns: 'conversations: [{from, value}], chosen: {from, value}, rejected: {from, value}',
  matches: (row) => Array.isArray(row.conversations) && isRecord(row.chosen) && isRecord(row.rejected),
  normalize(row, ctx) {
    if (!Array.isArray(row.conversations)) throw rowError(ctx, 'conversations', `must be a list of {from, value} messages, got ${typeName(row.conversations)}`);
    const prompt = row.conversations.map((m, i) => shareGptMessage(m, `conversations[${i}]`, ctx));
    const chosen = [shareGptMessage(row.chosen, 'chosen', ctx)];
    const rejected = [shareGptMessage(row.rejected, 'rejected', ctx)];
    return pairedRecord(row, ctx, ID_COLUMNS, { prompt, chosen, rejected });
  },
};

/** PandaLM label values: 0 tie, 1 response1 better, 2 response2 better. */
const PANDALM_LABELS = new Set([0, 1, 2]);

/**
 * PandaLM's human test set: instruction (+ input) and two responses judged by three annotators.
 * The pair is oriented by strict majority; without one (or with a majority for "tie") the record is
 * a tie kept in file order. Prompt = instruction and input joined by a newline, as LLaMA-Factory's
 * Alpaca converter joins them.
 */
export const PANDALM: Convention<'paired'> = {
  name: 'pandalm',
  kind: 'paired',
  columns: 'instruction, input, response1, response2, annotator1..annotatorN (0 tie, 1 or 2 = better response)',
  matches: (row) => typeof row.instruction === 'string' && 'response1' in row && 'response2' in row && annotatorColumns(row).length > 0,
  normalize(row, ctx) {
    const instruction = requireString(row, 'instruction', ctx);
    const input = row.input === undefined || row.input === null ? '' : requireString(row, 'input', ctx);
    const responses = [requireString(row, 'response1', ctx), requireString(row, 'response2', ctx)] as const;
    const votes = annotatorColumns(row).map((column) => {
      const label = row[column];
      if (typeof label !== 'number' || !PANDALM_LABELS.has(label)) throw rowError(ctx, column, `must be 0 (tie), 1 or 2, got ${typeof label === 'number' ? label : typeName(label)}`);
      return label;
    });
    const count = (label: number): number => votes.filter((v) => v === label).length;
    const winner = [1, 2].find((label) => count(label) * 2 > votes.length);
    const chosenNumber = winner ?? 1;
    const record = pairedRecord(row, ctx, ['id', 'idx'], {
      prompt: input.length > 0 ? `${instruction}\n${input}` : instruction,
      chosen: responses[chosenNumber - 1]!,
      rejected: responses[2 - chosenNumber]!,
      annotatorLabels: votes.map((v) => (v === 0 ? 0 : v === chosenNumber ? 1 : -1)),
    });
    return winner === undefined ? { ...record, tie: true } : record;
  },
};
