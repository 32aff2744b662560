// The label-store backends the store tests run against: a SQLite file in a temporary directory,
// and a database on a throwaway PostgreSQL cluster (test/helpers/postgres.ts; a test using it fails
// when the cluster cannot start, and is skipped with the reason where the package is absent). Each
// `location()` is a fresh, empty store.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { postgresInstalled, startPostgres, type PgCluster } from '../helpers/postgres.js';
import { serviceSkipReason } from '../helpers/services.js';

export interface BackendUnderTest {
  name: 'sqlite' | 'postgres';
  /** '' or why the suite is skipped on this machine (test/helpers/services.ts). */
  skipReason: string;
  start(): Promise<void>;
  location(): Promise<string>;
  stop(): Promise<void>;
}

function sqlite(): BackendUnderTest {
  let dir: string | undefined;
  let n = 0;
  return {
    name: 'sqlite',
    skipReason: '',
    async start() {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-store-'));
    },
    async location() {
      return path.join(dir!, `store-${n++}`, 'labels.sqlite');
    },
    async stop() {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgres(): BackendUnderTest {
  let cluster: PgCluster | undefined;
  return {
    name: 'postgres',
    skipReason: serviceSkipReason('postgresql', postgresInstalled()),
    async start() {
      cluster = await startPostgres();
    },
    async location() {
      if (!cluster) throw new Error('the PostgreSQL test cluster did not start (see the error of beforeAll)');
      return cluster.createDatabase();
    },
    async stop() {
      cluster?.stop();
    },
  };
}

/** Fresh backends, one of each kind. */
export function backendsUnderTest(): BackendUnderTest[] {
  return [sqlite(), postgres()];
}
