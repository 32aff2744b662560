// Opening a label store: the location picks the backend (a `postgres://` URL, else a SQLite file),
// the store is migrated to the latest schema, and the caller gets one `LabelStore` API either way.

import { fail } from '../../errors.js';
import type { SqlDriver } from './driver.js';
import { LabelStore } from './label-store.js';
import { PostgresDriver } from './postgres-driver.js';
import { SqliteDriver } from './sqlite-driver.js';

export interface LabelStoreConfig {
  /** A SQLite file (':memory:' for a throwaway store) or a `postgres://user:password@host/db` URL. */
  location: string;
  /** SQLite: FULL (default) fsyncs the WAL on every commit, so acknowledgements are durable. */
  synchronous: 'FULL' | 'NORMAL' | 'EXTRA';
  /** SQLite: how long a write waits for another process's transaction. */
  busyTimeoutMs: number;
  /** PostgreSQL: connections per process. */
  poolSize: number;
}

export const DEFAULT_LABEL_STORE_CONFIG: Omit<LabelStoreConfig, 'location'> = { synchronous: 'FULL', busyTimeoutMs: 5000, poolSize: 10 };

async function openPostgres(config: LabelStoreConfig): Promise<SqlDriver> {
  const driver = new PostgresDriver(config.location, { poolSize: config.poolSize });
  await driver.connect();
  return driver;
}

/** Backends by URL scheme; a location without a scheme is a SQLite file. */
export const STORE_BACKENDS: Record<string, (config: LabelStoreConfig) => Promise<SqlDriver>> = {
  postgres: openPostgres,
  postgresql: openPostgres,
  sqlite: async (config) => new SqliteDriver(config.location.replace(/^sqlite:\/\//, ''), config),
};

function backendOf(location: string): string {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(location)?.[1].toLowerCase() ?? 'sqlite';
}

/** A config object names its store by `location`, or by `path` (the SQLite-only name it had before). */
export type LabelStoreOptions = Partial<LabelStoreConfig> & ({ location: string } | { path: string });

function storeConfig(options: LabelStoreOptions): LabelStoreConfig {
  const { path, ...partial } = { path: undefined, ...options } as Partial<LabelStoreConfig> & { path?: string };
  const given = Object.fromEntries(Object.entries({ location: path, ...partial }).filter(([, v]) => v !== undefined));
  const config = { ...DEFAULT_LABEL_STORE_CONFIG, ...given } as LabelStoreConfig;
  if (typeof config.location !== 'string' || config.location === '') throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'location must name a SQLite file or a postgres:// URL', { parameter: 'location' });
  if (!['FULL', 'NORMAL', 'EXTRA'].includes(config.synchronous)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `synchronous must be FULL, NORMAL or EXTRA, got '${config.synchronous}'`, { parameter: 'synchronous' });
  if (!Number.isInteger(config.poolSize) || config.poolSize < 1) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `poolSize must be a positive integer, got ${config.poolSize}`, { parameter: 'poolSize' });
  return config;
}

/**
 * Opens (creating and migrating as needed) the label store at a location: `openLabelStore('labels.db')`,
 * `openLabelStore('postgres://alignkit@db.internal/labels')`, or a config object.
 */
export async function openLabelStore(location: string | LabelStoreOptions): Promise<LabelStore> {
  const config = storeConfig(typeof location === 'string' ? { location } : location);
  const backend = backendOf(config.location);
  const open = STORE_BACKENDS[backend];
  if (!open) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `label store location '${config.location}': unknown scheme '${backend}://'; known: ${Object.keys(STORE_BACKENDS).join(', ')}, or a file path for SQLite`, { parameter: 'location' });
  const store = new LabelStore(await open(config));
  try {
    await store.migrate();
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}
