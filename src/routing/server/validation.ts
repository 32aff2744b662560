// The routing plugin's own request validation, so it validates the same way whatever Fastify
// instance hosts it. Fastify's default Ajv coerces types (`{"id": 123, "prompt": null}` would be
// stored as the strings "123" and "") and drops unknown fields; bodies here are checked as sent.
// Path parameters and query strings are text on the wire, so those alone are coerced.

import { Ajv } from 'ajv';
import type { FastifyInstance } from 'fastify';

const COMMON = { useDefaults: true, removeAdditional: false, allErrors: false, verbose: true } as const;

export function installValidation(app: FastifyInstance): void {
  const asSent = new Ajv({ ...COMMON, coerceTypes: false });
  const fromText = new Ajv({ ...COMMON, coerceTypes: true });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? asSent : fromText).compile(schema));
}
