// The SQLite backend (better-sqlite3, WAL journal). Every commit has reached the disk when it
// returns (synchronous=FULL by default), so an acknowledged label survives a kill -9. Write
// transactions start with BEGIN IMMEDIATE, which takes SQLite's single write lock before the first
// read: a quota counted inside one cannot change before it commits, in this process or another
// process on the same file (that one waits up to busyTimeoutMs).
//
// better-sqlite3 is synchronous and this store's API is not: an async transaction awaits between
// its statements, and without a queue another request's statement could land inside it. So every
// call runs through one promise queue per database file in this process: two connections to one
// file in one process would otherwise deadlock, the second one's BEGIN IMMEDIATE blocking the
// thread in its busy wait while the first one's transaction waits for that thread to go on.

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { DialectSql, SqlDriver, SqlExecutor, SqlRow, SqlValue } from './driver.js';

export interface SqliteOptions {
  /** FULL fsyncs the WAL on every commit: durable acknowledgements. NORMAL trades that for speed. */
  synchronous: 'FULL' | 'NORMAL' | 'EXTRA';
  busyTimeoutMs: number;
}

const SQL: DialectSql = { pairOrder: 'p.rowid', lockCandidate: '', lockShared: '' };

/** The queue of each open database file, shared by this process's connections to it. */
const QUEUES = new Map<string, { tail: Promise<unknown>; users: number }>();

function queueFor(file: string): { tail: Promise<unknown>; users: number } {
  let q = QUEUES.get(file);
  if (!q) QUEUES.set(file, (q = { tail: Promise.resolve(), users: 0 }));
  q.users++;
  return q;
}

const bind = (params: SqlValue[]) => params.map((v) => (v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v) : v));

class Connection implements SqlExecutor {
  private readonly statements = new Map<string, Database.Statement>();
  constructor(readonly db: Database.Database) {}

  private statement(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  async all(sql: string, params: SqlValue[] = []): Promise<SqlRow[]> {
    return this.statement(sql).all(...bind(params)) as SqlRow[];
  }

  async get(sql: string, params: SqlValue[] = []): Promise<SqlRow | undefined> {
    return this.statement(sql).get(...bind(params)) as SqlRow | undefined;
  }

  async run(sql: string, params: SqlValue[] = []): Promise<number> {
    return this.statement(sql).run(...bind(params)).changes;
  }

  async exec(sql: string): Promise<void> {
    this.db.exec(sql);
  }
}

export class SqliteDriver implements SqlDriver {
  readonly backend = 'sqlite' as const;
  readonly sql = SQL;
  readonly db: Database.Database;
  private readonly connection: Connection;
  private readonly file: string;
  private readonly queue: { tail: Promise<unknown>; users: number };

  constructor(
    readonly location: string,
    readonly options: SqliteOptions,
  ) {
    if (location !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(location)), { recursive: true });
    this.db = new Database(location);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
    this.connection = new Connection(this.db);
    // ':memory:' databases are private to their connection.
    this.file = location === ':memory:' ? `:memory:${Math.random()}` : path.resolve(location);
    this.queue = queueFor(this.file);
  }

  /** Runs `fn` when every call queued before it has finished. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.tail.then(fn);
    this.queue.tail = result.catch(() => undefined);
    return result;
  }

  all(sql: string, params?: SqlValue[]) {
    return this.serial(() => this.connection.all(sql, params));
  }

  get(sql: string, params?: SqlValue[]) {
    return this.serial(() => this.connection.get(sql, params));
  }

  run(sql: string, params?: SqlValue[]) {
    return this.serial(() => this.connection.run(sql, params));
  }

  exec(sql: string) {
    return this.serial(() => this.connection.exec(sql));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.connection);
        this.db.exec('COMMIT');
        return result;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
    });
  }

  // BEGIN IMMEDIATE already holds the database's one write lock.
  async lockSchema(): Promise<void> {}
  async lockPair(): Promise<void> {}

  close(): Promise<void> {
    return this.serial(async () => {
      if (!this.db.open) return;
      this.db.close();
      if (--this.queue.users === 0) QUEUES.delete(this.file);
    });
  }
}
