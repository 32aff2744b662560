// The PostgreSQL backend (the `pg` client, a connection pool): one label store shared by several
// annotator servers. A commit returns once PostgreSQL has flushed it (synchronous_commit on, its
// default), so an acknowledged label survives a kill -9 of any server. Cross-server guarantees come
// from row locks taken inside each transaction: a label or assignment write locks its pair row
// (SELECT ... FOR UPDATE), and the next-pair query locks the pair it picks with FOR UPDATE SKIP
// LOCKED, so replicas asking at the same moment get different pairs instead of waiting in line.

import pg from 'pg';
import { fail } from '../../errors.js';
import type { DialectSql, SqlDriver, SqlExecutor, SqlRow, SqlValue } from './driver.js';

export interface PostgresOptions {
  /** Connections per server process. */
  poolSize: number;
}

const SQL: DialectSql = { pairOrder: 'p.seq', lockCandidate: ' FOR UPDATE OF p SKIP LOCKED', lockShared: ' FOR SHARE' };

/** SQLSTATEs after which the whole transaction may simply run again: serialization failure, deadlock. */
const RETRYABLE = new Set(['40001', '40P01']);
const ATTEMPTS = 5;

/** `?` placeholders (what the store writes) as PostgreSQL's `$1, $2, ...`. */
export function numberPlaceholders(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

/** The URL with its password masked, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}

class Client implements SqlExecutor {
  constructor(private readonly client: pg.Pool | pg.PoolClient) {}

  async all(sql: string, params: SqlValue[] = []): Promise<SqlRow[]> {
    return (await this.client.query(numberPlaceholders(sql), params)).rows;
  }

  async get(sql: string, params: SqlValue[] = []): Promise<SqlRow | undefined> {
    return (await this.all(sql, params))[0];
  }

  async run(sql: string, params: SqlValue[] = []): Promise<number> {
    return (await this.client.query(numberPlaceholders(sql), params)).rowCount ?? 0;
  }

  async exec(sql: string): Promise<void> {
    await this.client.query(sql);
  }
}

export class PostgresDriver implements SqlDriver {
  readonly backend = 'postgres' as const;
  readonly sql = SQL;
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly direct: Client;
  private ended = false;

  constructor(url: string, options: PostgresOptions) {
    this.location = redactUrl(url);
    this.pool = new pg.Pool({ connectionString: url, max: options.poolSize });
    // An idle connection that breaks (server restart) is dropped by the pool; the next query opens
    // a new one. Without a listener the error would end the process.
    this.pool.on('error', () => undefined);
    this.direct = new Client(this.pool);
  }

  all(sql: string, params?: SqlValue[]) {
    return this.direct.all(sql, params);
  }

  get(sql: string, params?: SqlValue[]) {
    return this.direct.get(sql, params);
  }

  run(sql: string, params?: SqlValue[]) {
    return this.direct.run(sql, params);
  }

  exec(sql: string) {
    return this.direct.exec(sql);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(new Client(client));
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        if (attempt < ATTEMPTS && RETRYABLE.has((e as { code?: string }).code ?? '')) continue;
        throw e;
      } finally {
        client.release();
      }
    }
  }

  async lockSchema(tx: SqlExecutor): Promise<void> {
    // Transaction-scoped advisory lock: two servers starting at once migrate one after the other.
    await tx.get("SELECT pg_advisory_xact_lock(hashtext('alignkit label store schema'))");
  }

  async lockPair(tx: SqlExecutor, pairId: string): Promise<void> {
    await tx.get('SELECT 1 FROM pairs WHERE id = ? FOR UPDATE', [pairId]);
  }

  /** Fails with an error naming the server when it cannot be reached or logged into. */
  async connect(): Promise<void> {
    try {
      await this.direct.get('SELECT 1');
    } catch (e) {
      await this.close().catch(() => undefined);
      throw fail('ALIGNKIT_ERR_STORE', `cannot open the PostgreSQL label store at ${this.location}: ${(e as Error).message}`, { file: this.location }, e);
    }
  }

  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.pool.end();
  }
}
