// One error handler for every route (fastify's coded-error pattern): AlignkitErrors answer with
// their catalog status, schema violations with a 400 naming the field, fastify's own body-parsing
// errors through a table, and anything else with a 500 that carries the request id and nothing of
// the internals. The body keeps text-embeddings-inference's `{error, error_type}` so TEI clients
// read our errors as they read TEI's.

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CATALOG, isAlignkitError, type ErrorCode } from '../errors.js';

export interface ErrorBody {
  error: string;
  error_type: string;
  code: string;
  statusCode: number;
  field?: string;
  requestId: string;
}

/** fastify's content-type-parser errors (fastify/lib/errors.js), as alignkit codes. */
const FASTIFY_ERRORS: Record<string, { code: ErrorCode; message: (limit: number) => string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'ALIGNKIT_ERR_BAD_REQUEST', message: () => 'body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'ALIGNKIT_ERR_BAD_REQUEST', message: () => 'body is empty but content-type is application/json' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'ALIGNKIT_ERR_TOO_LONG', message: (limit) => `body is larger than the ${limit}-byte payload limit` },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'ALIGNKIT_ERR_BAD_REQUEST', message: () => 'body has an unsupported content-type; send application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'ALIGNKIT_ERR_BAD_REQUEST', message: () => 'body size does not match its Content-Length' },
};

/** TEI's ErrorType names (router/src/lib.rs) by status. */
function errorType(status: number): string {
  if (status === 429) return 'overloaded';
  if (status >= 500) return 'backend';
  return 'validation';
}

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
  /** Present with Ajv's `verbose` option (set in app.ts): the schema object that failed. */
  parentSchema?: { description?: string };
}

/** `/items/0/response` -> `items[0].response`. */
function fieldPath(prefix: string, pointer: string, child?: unknown): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(String(child));
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : `${acc}.${p}`), prefix);
}

const depth = (e: AjvError) => e.instancePath.split('/').length;
const COMBINATORS = new Set(['oneOf', 'anyOf']);

function describeOne(e: AjvError, context: string): { field: string; message: string } {
  if (e.keyword === 'required') {
    const field = fieldPath(context, e.instancePath, e.params.missingProperty);
    return { field, message: `${field} is required` };
  }
  if (e.keyword === 'additionalProperties') {
    const field = fieldPath(context, e.instancePath, e.params.additionalProperty);
    return { field, message: `${field} is not a known field` };
  }
  const field = fieldPath(context, e.instancePath);
  return { field, message: `${field} ${e.message ?? 'is invalid'}` };
}

/**
 * One readable message from Ajv's errors. A value of the right type that breaks a constraint is
 * reported at its deepest point (`items[0].response[0].content is required`); a value whose type
 * fits none of a oneOf's branches is reported with the oneOf's description of what it may be.
 */
export function describeValidation(errors: AjvError[], context: string): { field: string; message: string } {
  const constraints = errors.filter((e) => !COMBINATORS.has(e.keyword) && e.keyword !== 'type');
  if (constraints.length) return describeOne(constraints.reduce((a, b) => (depth(b) > depth(a) ? b : a)), context);
  const combinator = errors.find((e) => COMBINATORS.has(e.keyword));
  if (combinator) {
    const field = fieldPath(context, combinator.instancePath);
    const types = errors.filter((e) => e.keyword === 'type' && e.instancePath === combinator.instancePath).map((e) => String(e.params.type));
    return { field, message: `${field} must be ${combinator.parentSchema?.description ?? types.join(' or ')}` };
  }
  return describeOne(errors[0], context);
}

function classify(err: FastifyError, bodyLimit: number): { status: number; code: string; message: string; field?: string } {
  if (isAlignkitError(err)) {
    const field = typeof err.details.field === 'string' ? err.details.field : undefined;
    return { status: err.status, code: err.code, message: err.message, field };
  }
  if (err.validation) {
    const { field, message } = describeValidation(err.validation as AjvError[], err.validationContext ?? 'body');
    return { status: ERROR_CATALOG.ALIGNKIT_ERR_BAD_REQUEST.status, code: 'ALIGNKIT_ERR_BAD_REQUEST', message, field };
  }
  const known = err.code ? FASTIFY_ERRORS[err.code] : undefined;
  if (known) return { status: err.statusCode ?? 400, code: known.code, message: known.message(bodyLimit), field: 'body' };
  return { status: 500, code: 'ALIGNKIT_ERR_INTERNAL', message: ERROR_CATALOG.ALIGNKIT_ERR_INTERNAL.summary };
}

export function errorHandler(bodyLimit: number) {
  return function handle(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    const c = classify(err, bodyLimit);
    if (c.status >= 500) request.log.error({ err }, 'request failed');
    // A 5xx is never the client's doing and its details (paths, runtime messages) stay in the log.
    const message = c.status >= 500 ? `${ERROR_CATALOG[c.code as ErrorCode]?.summary ?? 'internal error'}; quote request id ${request.id} when reporting it` : c.message;
    const body: ErrorBody = { error: message, error_type: errorType(c.status), code: c.code, statusCode: c.status, requestId: request.id, ...(c.field && { field: c.field }) };
    return reply.status(c.status).send(body);
  };
}
