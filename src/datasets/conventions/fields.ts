// Field readers shared by the convention normalizers: each checks one value's type and, when it is
// wrong, throws ALIGNKIT_ERR_DATASET_ROW naming the file, the 1-based row and the field.

import path from 'node:path';
import { fail, type AlignkitError } from '../../errors.js';
import type { Message, Row, Text } from '../types.js';

/** Where a row came from: used for error messages and derived ids. */
export interface RowContext {
  file: string;
  /** 0-based position of the row in the file. */
  index: number;
}

export function rowError(ctx: RowContext, field: string, message: string): AlignkitError {
  return fail('ALIGNKIT_ERR_DATASET_ROW', `${ctx.file} row ${ctx.index + 1}: field "${field}" ${message}`, { file: ctx.file, row: ctx.index + 1, field });
}

/** The name of a value's JSON type, for "got ..." in messages. */
export function typeName(value: unknown): string {
  if (value === undefined) return 'nothing (missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

export function isRecord(value: unknown): value is Row {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function requireString(row: Row, field: string, ctx: RowContext): string {
  const value = row[field];
  if (typeof value !== 'string') throw rowError(ctx, field, `must be a string, got ${typeName(value)}`);
  return value;
}

export function requireNumber(value: unknown, field: string, ctx: RowContext): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw rowError(ctx, field, `must be a finite number, got ${typeName(value)}`);
  return value;
}

export function requireBoolean(row: Row, field: string, ctx: RowContext): boolean {
  const value = row[field];
  if (typeof value !== 'boolean') throw rowError(ctx, field, `must be a boolean (true = thumbs up), got ${typeName(value)}`);
  return value;
}

/** A list of `{role, content}` messages; `field` names the list for messages like `chosen[2].content`. */
export function requireMessages(value: unknown, field: string, ctx: RowContext): Message[] {
  if (!Array.isArray(value)) throw rowError(ctx, field, `must be a list of messages, got ${typeName(value)}`);
  return value.map((m, i) => {
    if (!isRecord(m)) throw rowError(ctx, `${field}[${i}]`, `must be a {role, content} message, got ${typeName(m)}`);
    if (typeof m.role !== 'string') throw rowError(ctx, `${field}[${i}].role`, `must be a string, got ${typeName(m.role)}`);
    if (typeof m.content !== 'string') throw rowError(ctx, `${field}[${i}].content`, `must be a string, got ${typeName(m.content)}`);
    return { role: m.role, content: m.content };
  });
}

/** A prompt or response: a string, or a list of messages. */
export function requireText(value: unknown, field: string, ctx: RowContext): Text {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return requireMessages(value, field, ctx);
  throw rowError(ctx, field, `must be a string or a list of messages, got ${typeName(value)}`);
}

export function isMessageList(value: unknown): value is Message[] {
  return Array.isArray(value) && value.every((m) => isRecord(m) && typeof m.role === 'string' && typeof m.content === 'string');
}

/**
 * The row's id: the first present id column (as a string), else `${basename}:${index}` with the
 * 0-based row index. That derived id is stable while rows are appended, which keeps id-hash splits
 * stable; it changes if rows are inserted before it or the file is renamed.
 */
export function rowId(row: Row, ctx: RowContext, idColumns: readonly string[]): string {
  for (const column of idColumns) {
    const value = row[column];
    if (typeof value === 'string' && value.length > 0) return value;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  }
  return `${path.basename(ctx.file)}:${ctx.index}`;
}

/** The optional `source` column, when it is a string. */
export function optionalSource(row: Row, ctx: RowContext): { source?: string } {
  const value = row.source;
  if (value === undefined || value === null) return {};
  if (typeof value !== 'string') throw rowError(ctx, 'source', `must be a string when present, got ${typeName(value)}`);
  return { source: value };
}

/** Copies only the optional fields that have a value, so records carry no `key: undefined`. */
export function definedOnly<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as T;
}
