// Strict request validation, the same on every Fastify instance that hosts alignkit routes: no type
// coercion (`"response": 5` is a 400, not the string "5"; `{"id": 123}` is not the id "123"),
// unknown fields reported rather than silently dropped, and `verbose` errors whose schema
// description the error handler quotes for values that fit no branch of a oneOf. Fastify's default
// compiler coerces and strips; a plugin that calls `useStrictValidation(instance)` validates this
// way whatever server it is registered on (the routing plugin does).

import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifyInstance } from 'fastify';

/** Ajv options over fastify's defaults (which keep `useDefaults` and `allErrors: false`, a DoS guard). */
export const STRICT_AJV_OPTIONS = { coerceTypes: false, removeAdditional: false, allErrors: false, verbose: true } as const;

const fromPool = AjvCompiler();

/** Sets the strict validator compiler on `instance`'s scope; shared schemas (`addSchema`) are resolved. */
export function useStrictValidation(instance: FastifyInstance): void {
  instance.setValidatorCompiler((route) => fromPool(instance.getSchemas() as Record<string, object>, { customOptions: STRICT_AJV_OPTIONS })(route));
}
