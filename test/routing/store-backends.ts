// The label-store backends the store tests run against: a SQLite file in a temporary directory,
// and a database on a throwaway PostgreSQL cluster (test/helpers/postgres.ts; a test using it fails
// when the cluster cannot start). Each `location()` is a fresh, empty store.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPostgres, type PgCluster } from '../helpers/postgres.js';

export interface BackendUnderTest {
  name: 'sqlite' | 'postgres';
  start(): Promise<void>;
  location(): Promise<string>;
  stop(): Promise<void>;
}

function sqlite(): BackendUnderTest {
  let dir: string | undefined;
  let n = 0;
  return {
    name: 'sqlite',
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
