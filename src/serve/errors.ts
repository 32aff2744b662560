// One error envelope and one error handler for every route group, plugins included (fastify's
// coded-error pattern): AlignkitErrors answer with their catalog status, schema violations with a
// 400 naming the field, fastify's own body-parsing errors through a table, a plugin's client error
// (an error carrying a 4xx `statusCode`, e.g. @fastify/static's 403 for a path outside its root)
// with that status, and anything else with a 500 that carries the request id and nothing of the
// internals. The body keeps text-embeddings-inference's `{error, error_type}` so TEI clients read
// our errors as they read TEI's.
//
// Stable API for other route groups (the routing plugin uses it): `errorEnvelope` builds the body,
// `sendError` classifies any thrown value and sends it, `errorHandler` is the handler to set on a
// plugin's scope so it answers the same way whatever Fastify instance hosts it.

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
  if (status === 503) return 'unhealthy';
  if (status >= 500) return 'backend';
  return 'validation';
}

/** What an error answers with, before the request id is added. */
export interface ErrorAnswer {
  status: number;
  code: ErrorCode;
  message: string;
  field?: string;
}

/**
 * The one error body every route answers with. A 5xx never carries its own message (paths and
 * runtime messages stay in the log): it says what class of failure it was and quotes the request id.
 */
export function errorEnvelope(request: FastifyRequest, answer: ErrorAnswer): ErrorBody {
  const summary = ERROR_CATALOG[answer.code]?.summary ?? 'internal error';
  const error = answer.status >= 500 ? `${summary}; quote request id ${request.id} when reporting it` : answer.message;
  return { error, error_type: errorType(answer.status), code: answer.code, statusCode: answer.status, requestId: request.id, ...(answer.field && { field: answer.field }) };
}

/** Alignkit codes for the client-error statuses plugins answer with; others are a bad request. */
const CLIENT_STATUS_CODES: Record<number, ErrorCode> = {
  401: 'ALIGNKIT_ERR_UNAUTHORIZED',
  403: 'ALIGNKIT_ERR_FORBIDDEN',
  404: 'ALIGNKIT_ERR_NOT_FOUND',
  413: 'ALIGNKIT_ERR_TOO_LONG',
  429: 'ALIGNKIT_ERR_OVERLOADED',
};

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

/** How a thrown value answers; `bodyLimit` is quoted by the payload-limit message. */
export function classifyError(err: FastifyError, request: FastifyRequest, bodyLimit: number): ErrorAnswer {
  if (err === null || typeof err !== 'object') return { status: 500, code: 'ALIGNKIT_ERR_INTERNAL', message: ERROR_CATALOG.ALIGNKIT_ERR_INTERNAL.summary };
  if (isAlignkitError(err)) {
    const field = typeof err.details.field === 'string' ? err.details.field : undefined;
    return { status: err.status, code: err.code, message: err.message, field };
  }
  if (err.validation) {
    const { field, message } = describeValidation(err.validation as AjvError[], err.validationContext ?? 'body');
    return { status: ERROR_CATALOG.ALIGNKIT_ERR_BAD_REQUEST.status, code: 'ALIGNKIT_ERR_BAD_REQUEST', message, field };
  }
  const known = typeof err.code === 'string' && Object.hasOwn(FASTIFY_ERRORS, err.code) ? FASTIFY_ERRORS[err.code] : undefined;
  if (known) return { status: err.statusCode ?? 400, code: known.code, message: known.message(bodyLimit), field: 'body' };
  // A plugin's own client error (its statusCode is the plugin's verdict on the request).
  const status = err.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500)
    return { status, code: CLIENT_STATUS_CODES[status] ?? 'ALIGNKIT_ERR_BAD_REQUEST', message: `${request.method} ${request.url.slice(0, 200)}: ${err.message}`, field: 'url' };
  return { status: 500, code: 'ALIGNKIT_ERR_INTERNAL', message: ERROR_CATALOG.ALIGNKIT_ERR_INTERNAL.summary };
}

/** Classifies `err` and sends the envelope; 5xx errors are logged with their details. */
export function sendError(reply: FastifyReply, err: unknown, bodyLimit: number = reply.server.initialConfig.bodyLimit ?? 1024 * 1024): FastifyReply {
  const request = reply.request;
  const answer = classifyError(err as FastifyError, request, bodyLimit);
  if (answer.status >= 500) request.log.error({ err }, 'request failed');
  return reply.status(answer.status).send(errorEnvelope(request, answer));
}

/** The error handler to set on a server or a plugin's scope. */
export function errorHandler(bodyLimit?: number) {
  return function handle(err: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
    return sendError(reply, err, bodyLimit);
  };
}
