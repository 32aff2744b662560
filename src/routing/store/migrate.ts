// Brings a store's schema to the latest version: each missing migration runs in its own
// transaction under the schema lock, so several servers opening one store at once migrate it once.

import { fail } from '../../errors.js';
import type { SqlDriver } from './driver.js';
import { MIGRATIONS, type Migration } from './migrations.js';

export async function schemaVersion(driver: SqlDriver): Promise<number> {
  const row = await driver.get('SELECT version FROM schema_version');
  return row === undefined ? 0 : Number(row.version);
}

/** Runs the migrations the store lacks; resolves to the version it is at afterwards. */
export async function migrate(driver: SqlDriver, migrations: Migration[] = MIGRATIONS): Promise<number> {
  for (;;) {
    const version = await driver.transaction(async (tx) => {
      await driver.lockSchema(tx);
      await tx.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
      const row = await tx.get('SELECT version FROM schema_version');
      const current = row === undefined ? 0 : Number(row.version);
      if (current > migrations.length) {
        throw fail('ALIGNKIT_ERR_STORE', `label store ${driver.location} has schema version ${current}, newer than this alignkit (${migrations.length})`, { file: driver.location });
      }
      if (current === migrations.length) return current;
      const step = migrations[current][driver.backend];
      if (typeof step === 'string') await tx.exec(step);
      else await step(tx);
      await tx.run('DELETE FROM schema_version');
      await tx.run('INSERT INTO schema_version (version) VALUES (?)', [current + 1]);
      return -1;
    });
    if (version >= 0) return version;
  }
}
