// The label store's schema as an ordered list of migrations: migration i takes the schema from
// version i to i + 1, on SQLite and on PostgreSQL alike (each migration gives both dialects' SQL, so
// a store's version means the same tables on either). A store records its version in
// `schema_version`; opening runs the missing migrations in one transaction each. Append new
// migrations (one file each in ./schema, giving `sqlite` and `postgres` steps; DDL both dialects
// accept can be one string used twice); never edit a released one. The shared store suite
// (test/routing/store.test.ts) runs every migration on both backends.

import type { Backend, SqlExecutor } from './driver.js';
import { initialSchema } from './schema/001-initial.js';
import { annotationGuards } from './schema/003-annotation-guards.js';
import { VERDICTS_MIGRATION } from './verdicts.js';

/** DDL to run as is, or a function for steps that read data (repairs). */
export type MigrationStep = string | ((tx: SqlExecutor) => Promise<void>);

export type Migration = { description: string } & Record<Backend, MigrationStep>;

// Version 2 (judge verdicts) was released before version 3 (annotation guards): stores at 2 must
// not run it again.
export const MIGRATIONS: Migration[] = [initialSchema, VERDICTS_MIGRATION, annotationGuards];
