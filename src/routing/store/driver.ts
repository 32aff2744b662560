// What the label store needs from a SQL database, so one store implementation runs on SQLite
// (embedded, one writer) and on PostgreSQL (shared by several annotator servers). The store writes
// portable SQL with `?` placeholders; a driver supplies the few fragments and locks where the two
// dialects differ, so the store itself never branches on the backend.

/** The backends a migration gives SQL for. */
export type Backend = 'sqlite' | 'postgres';

export type SqlValue = string | number | null | Uint8Array;
export type SqlRow = Record<string, unknown>;

/** Queries on a connection, inside a transaction or not. */
export interface SqlExecutor {
  all(sql: string, params?: SqlValue[]): Promise<SqlRow[]>;
  get(sql: string, params?: SqlValue[]): Promise<SqlRow | undefined>;
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, params?: SqlValue[]): Promise<number>;
  /** Several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/** SQL that differs between the dialects. */
export interface DialectSql {
  /** Insertion order of `pairs p` (SQLite's rowid, PostgreSQL's identity column). */
  pairOrder: string;
  /**
   * Appended to the next-pair query: PostgreSQL locks the chosen pair row and skips rows other
   * replicas hold, so two servers never hand out the same slot; SQLite needs nothing, its write
   * transactions are serialised.
   */
  lockCandidate: string;
  /** Appended to a read of rows about to be referenced: PostgreSQL keeps them from being deleted meanwhile. */
  lockShared: string;
}

export interface SqlDriver extends SqlExecutor {
  readonly backend: Backend;
  /** Where the data lives, for messages (passwords redacted). */
  readonly location: string;
  readonly sql: DialectSql;
  /**
   * Runs `fn` in one write transaction: committed (and durable) when the promise resolves, rolled
   * back when it rejects. Transactions are serialised against every other writer of the store.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Inside a transaction: waits until no other process migrates the schema. */
  lockSchema(tx: SqlExecutor): Promise<void>;
  /** Inside a transaction: serialises label and assignment writes on one pair across processes. */
  lockPair(tx: SqlExecutor, pairId: string): Promise<void>;
  close(): Promise<void>;
}
