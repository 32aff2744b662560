// A throwaway PostgreSQL cluster for tests: initdb in a temporary directory, a postgres server on a
// free local port (never the system service), one fresh database per store under test, and an
// immediate stop. It needs Debian's `postgresql` package (`apt-get install -y postgresql`; the
// binaries in /usr/lib/postgresql/<version>/bin, or ALIGNKIT_PG_BIN). When it cannot start, it
// throws with what to install or the server's log: tests that need PostgreSQL fail, never pass.
//
// PostgreSQL refuses to run as root; as root the cluster is owned by and run as the `postgres`
// user the package creates. fsync is off: these tests kill annotator servers, never the database,
// and a commit is visible to every connection once it returns either way.

import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';

export interface PgCluster {
  /** postgres://alignkit@127.0.0.1:PORT/<db> */
  url(db: string): string;
  /** A new empty database; resolves to its URL. */
  createDatabase(): Promise<string>;
  stop(): void;
}

const INSTALL_HINT = 'install the server with `apt-get install -y postgresql` (or point ALIGNKIT_PG_BIN at a directory holding initdb and pg_ctl)';

function binDir(): string {
  if (process.env.ALIGNKIT_PG_BIN) return process.env.ALIGNKIT_PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb'))) : [];
  if (versions.length === 0) throw new Error(`PostgreSQL tests cannot run: no initdb under ${root}; ${INSTALL_HINT}`);
  return path.join(root, versions.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

/** uid/gid to run the server as: ourselves, or the package's `postgres` user when we are root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error(`PostgreSQL tests cannot run as root without a 'postgres' user to run the server as; ${INSTALL_HINT}`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}


/** Whether the binaries the cluster needs are here (and, as root, the user to run them as). */
export function postgresInstalled(): boolean {
  try {
    runAs();
    return fs.existsSync(path.join(binDir(), 'initdb'));
  } catch {
    return false;
  }
}

export async function startPostgres(): Promise<PgCluster> {
  const bin = binDir();
  const user = runAs();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-pg-'));
  if (user) fs.chownSync(dir, user.uid, user.gid);
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'server.log');
  const run = (tool: string, args: string[]) => execFileSync(path.join(bin, tool), args, { ...user, cwd: dir, stdio: 'pipe', timeout: 60_000 });
  const port = await freePort();
  try {
    run('initdb', ['-D', data, '-U', 'alignkit', '--auth=trust', '--no-sync', '--encoding=UTF8', '--locale=C']);
    const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
    run('pg_ctl', ['-D', data, '-l', log, '-o', serverOptions, '-w', '-t', '60', 'start']);
  } catch (e) {
    const serverLog = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
    const output = (e as { stderr?: Buffer }).stderr?.toString() ?? '';
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL tests cannot run: the test cluster did not start (${(e as Error).message})\n${output}\n${serverLog}`);
  }
  const url = (db: string) => `postgres://alignkit@127.0.0.1:${port}/${db}`;
  return {
    url,
    async createDatabase() {
      const name = `t_${crypto.randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: url('postgres') });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return url(name);
    },
    stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
