// Public names of the label store: one API over SQLite (one server) and PostgreSQL (shared).
export { LabelStore, hashApiKey, newApiKey } from './label-store.js';
export { openLabelStore, STORE_BACKENDS, DEFAULT_LABEL_STORE_CONFIG, type LabelStoreConfig, type LabelStoreOptions } from './open.js';
export { DEFAULT_ANNOTATION_POLICY, annotationPolicy, type AnnotationPolicy, type HumanLabel, type AiLabel, type RoutingRun, type ExportRow } from './records.js';
export { MIGRATIONS, type Migration, type MigrationStep } from './migrations.js';
export { MAX_EXTRA_DEPTH } from './validate.js';
export type { SqlDriver, SqlExecutor, DialectSql, Backend } from './driver.js';
export * from './verdicts.js';
