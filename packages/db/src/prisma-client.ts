import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/prisma/client.ts';

export { Prisma, PrismaClient } from './generated/prisma/client.ts';

export interface QueryCounter {
  /** SQL statements sent since the last reset(), BEGIN/COMMIT/ROLLBACK included (each one of a multi-statement query). */
  value: number;
  /** Their SQL text, oldest first (the last 1000 are kept). */
  log: string[];
  reset(): void;
}

const LOG_LIMIT = 1000;

/** A pooled connection (for `onConnect`). */
export type DatabaseConnection = pg.PoolClient;

/**
 * Statements in one query string: a simple query may hold several (`BEGIN; SELECT ...`), separated by
 * semicolons outside quoted literals (escaped literals double their quotes and backslashes).
 */
export function statementsIn(sql: string): number {
  let count = 0;
  let inQuote = false;
  let pending = false;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i];
    if (inQuote) {
      if (ch === "'") {
        if (sql[i + 1] === "'") i++;
        else inQuote = false;
      }
    } else if (ch === "'") {
      inQuote = true;
      pending = true;
    } else if (ch === ';') {
      if (pending) count++;
      pending = false;
    } else if (!/\s/.test(ch!)) {
      pending = true;
    }
  }
  return count + (pending ? 1 : 0);
}

/** A statement that writes rows: INSERT/UPDATE/DELETE, or a WITH whose CTEs do (the repository's one-statement saves). */
const isWrite = (sql: string) =>
  /^\s*(INSERT|UPDATE|DELETE)\b/i.test(sql) || (/^\s*WITH\b/i.test(sql) && /\b(INSERT\s+INTO|UPDATE\s+"|DELETE\s+FROM)\b/i.test(sql));

export function createPrismaClient(
  databaseUrl: string,
  opts: {
    poolMax?: number;
    poolWaitMs?: number;
    onIdleError?: (error: Error) => void;
    /** Called with each new pooled connection before its first query (session settings, diagnostics). */
    onConnect?: (client: DatabaseConnection) => void;
  } = {},
): {
  prisma: PrismaClient;
  /** The pg pool under Prisma; hot paths may send their own SQL through it. */
  pool: pg.Pool;
  queryCount: QueryCounter;
  statements(): { total: number; writes: number };
  close(): Promise<void>;
} {
  const totals = { total: 0, writes: 0 };
  const queryCount: QueryCounter = {
    value: 0,
    log: [],
    reset() {
      this.value = 0;
      this.log.length = 0;
    },
  };
  // Bounded: a request waits at most poolWaitMs for a connection (then SERVICE_BUSY, see unavailable.ts);
  // a row lock is waited for at most 10 s; a transaction left open by a stuck process is ended by the server.
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: opts.poolMax ?? 20,
    connectionTimeoutMillis: opts.poolWaitMs ?? 5000,
    lock_timeout: 10_000,
    idle_in_transaction_session_timeout: 60_000,
  });
  // An idle pooled connection that the server drops (restart, failover, admin) must not crash the
  // process: pg drops it from the pool and the next query opens a new one.
  pool.on('error', (error) => opts.onIdleError?.(error));
  // Count on each pooled connection: the adapter's plain queries (pool.query)
  // and interactive transactions (a held connection: BEGIN ... COMMIT) all end
  // up in client.query(), once per statement.
  pool.on('connect', (client) => {
    // A checked-out connection that dies (server restart) emits 'error'; unhandled, that would end the process.
    // The query in flight fails on its own and pg discards the connection.
    client.on('error', (error) => opts.onIdleError?.(error));
    opts.onConnect?.(client);
    const query = client.query;
    client.query = function (this: pg.PoolClient, ...args: unknown[]) {
      const q = args[0] as string | { text?: string };
      const n = typeof q === 'string' && args.length === 1 && q.includes(';') ? statementsIn(q) : 1;
      queryCount.value += n;
      totals.total += n;
      if (isWrite(typeof q === 'string' ? q : String(q?.text))) totals.writes++;
      queryCount.log.push(typeof q === 'string' ? q : String(q?.text));
      if (queryCount.log.length > LOG_LIMIT) queryCount.log.shift();
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof client.query;
  });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    pool,
    queryCount,
    statements: () => ({ ...totals }),
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
