// API-key authentication for the routing routes: `Authorization: Bearer <key>` or `x-api-key`.
// Keys travel in headers only, never in the URL, where browser history and access logs keep them
// (the annotator page sends the key typed into its key field as `x-api-key`).

import type { FastifyRequest } from 'fastify';
import { fail } from '../../errors.js';
import type { LabelStore } from '../store/label-store.js';
import crypto from 'node:crypto';

export function apiKeyOf(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (typeof auth === 'string' && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  const key = request.headers['x-api-key'];
  return typeof key === 'string' && key ? key : undefined;
}

const MISSING = 'missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>"';

/** The annotator a request's key belongs to; 401 when missing or unknown. */
export async function requireAnnotator(store: LabelStore, request: FastifyRequest): Promise<{ id: string; name: string }> {
  const key = apiKeyOf(request);
  if (!key) throw fail('ALIGNKIT_ERR_UNAUTHORIZED', MISSING);
  const annotator = await store.annotatorByKey(key);
  if (!annotator) throw fail('ALIGNKIT_ERR_UNAUTHORIZED', 'unknown API key: it matches no annotator');
  return annotator;
}

function sameKey(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

/**
 * Admin routes (submit pairs, route, AI labels, annotators, export) need the admin key when one is
 * configured: 401 without a key, 403 with a key that is not the admin key (e.g. an annotator's).
 */
export function requireAdmin(adminKey: string | undefined, request: FastifyRequest): void {
  if (adminKey === undefined) return;
  const key = apiKeyOf(request);
  if (!key) throw fail('ALIGNKIT_ERR_UNAUTHORIZED', MISSING);
  if (!sameKey(key, adminKey)) throw fail('ALIGNKIT_ERR_FORBIDDEN', 'this route needs the admin key; the key sent is not it');
}
