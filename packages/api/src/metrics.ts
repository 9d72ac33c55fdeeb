import type { RunObserver } from '@chat/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics (served at `GET /metrics` by both HTTP entries). One
 * registry per services instance, never prom-client's global one: tests start
 * several services in one process.
 *
 * Run counters and latencies arrive through core's RunObserver port; the open
 * runs and the queue depth are counted at scrape time with one small query
 * (bounded by a timeout: a scrape answers while the database is away, keeping
 * the last values); the pool gauges are read from the pg pool at scrape time.
 */
export type Metrics = ReturnType<typeof createMetrics>;

export const METRICS_PATH = '/metrics';

/** The statuses of a run that is not finished. */
const OPEN_STATUSES = ['pending', 'processing', 'awaiting_approval'] as const;

/** What the scrape query needs: Prisma's `$queryRaw` (a tagged template). */
export interface RawQuery {
  $queryRaw<T = unknown>(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<T>;
}

/** The parts of a pg.Pool the metrics read (and whose connect() they time). */
export interface PoolLike {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  connect: (...args: never[]) => unknown;
}

export interface MetricsOptions {
  prisma?: RawQuery;
  pool?: PoolLike;
  /** Upper bound of the scrape-time query (default 1000 ms). */
  queryTimeoutMs?: number;
  /** Node's process metrics (default true). */
  defaultMetrics?: boolean;
  log?: (msg: string, data?: Record<string, unknown>) => void;
}

const seconds = (ms: number) => Math.max(0, ms) / 1000;

export function createMetrics(opts: MetricsOptions = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const runsFinished = new Counter({
    name: 'chat_runs_finished_total',
    help: 'Runs that ended in this process, by final status',
    labelNames: ['status'] as const,
    registers,
  });
  const runDuration = new Histogram({
    name: 'chat_run_duration_seconds',
    help: 'Time from claiming a run to its end in this process, by final status',
    labelNames: ['status'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers,
  });
  const queueWait = new Histogram({
    name: 'chat_run_queue_wait_seconds',
    help: 'Time a run waited between being queued and being claimed',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers,
  });
  const firstToken = new Histogram({
    name: 'chat_first_token_seconds',
    help: "Time from claiming a run to the model's first text in this process",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const notifyLag = new Histogram({
    name: 'chat_notify_lag_seconds',
    help: 'Delay between an event being published and its notification arriving here',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  const poolWait = new Histogram({
    name: 'chat_db_pool_wait_seconds',
    help: 'Time spent waiting for a database connection from the pool',
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const httpRequests = new Counter({
    name: 'chat_http_requests_total',
    help: 'HTTP requests answered, by status code',
    labelNames: ['code'] as const,
    registers,
  });
  const subscriptions = new Gauge({
    name: 'chat_active_subscriptions',
    help: 'Open events.onContext subscriptions in this process',
    registers,
  });

  // Open runs and queue depth: one query per scrape, shared by both gauges.
  const lastCounts = new Map<string, number>(OPEN_STATUSES.map((s) => [s, 0]));
  let querying: Promise<unknown> | null = null;
  let scrape: Promise<void> | null = null;
  const refreshRuns = () =>
    (scrape ??= (async () => {
      const prisma = opts.prisma;
      // A query still hanging from an earlier scrape (database away): keep the last values.
      if (!prisma || querying) return;
      const query = (querying = Promise.resolve(
        prisma.$queryRaw<{ status: string; count: number }[]>`SELECT status, count(*)::int AS count FROM "Run" WHERE status IN ('pending','processing','awaiting_approval') GROUP BY status`,
      ).finally(() => (querying = null)));
      let timer: NodeJS.Timeout | undefined;
      try {
        const rows = await Promise.race([
          query,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('timed out')), opts.queryTimeoutMs ?? 1000);
          }),
        ]);
        for (const status of OPEN_STATUSES) lastCounts.set(status, 0);
        for (const row of rows) lastCounts.set(row.status, Number(row.count));
      } catch (error) {
        opts.log?.('metrics: counting runs failed, keeping the last values', { error: String(error) });
      } finally {
        clearTimeout(timer);
      }
    })().finally(() => (scrape = null)));

  new Gauge({
    name: 'chat_runs',
    help: 'Runs not finished (all instances on this database), by status',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      await refreshRuns();
      for (const status of OPEN_STATUSES) this.set({ status }, lastCounts.get(status) ?? 0);
    },
  });
  new Gauge({
    name: 'chat_queue_depth',
    help: 'Runs waiting to be claimed (all instances on this database)',
    registers,
    async collect() {
      await refreshRuns();
      this.set(lastCounts.get('pending') ?? 0);
    },
  });

  const pool = opts.pool;
  const poolGauge = (name: string, help: string, read: (p: PoolLike) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        if (pool) this.set(read(pool));
      },
    });
  poolGauge('chat_db_pool_total', 'Connections open in the database pool', (p) => p.totalCount);
  poolGauge('chat_db_pool_idle', 'Idle connections in the database pool', (p) => p.idleCount);
  poolGauge('chat_db_pool_waiting', 'Requests waiting for a database connection', (p) => p.waitingCount);
  if (pool) timePoolConnect(pool, (ms) => poolWait.observe(seconds(ms)));

  const observer: RunObserver = {
    runStarted: ({ queuedMs }) => queueWait.observe(seconds(queuedMs)),
    firstToken: ({ ms }) => firstToken.observe(seconds(ms)),
    runFinished: ({ status, ms }) => {
      runsFinished.inc({ status });
      runDuration.observe({ status }, seconds(ms));
    },
  };

  return {
    registry,
    observer,
    contentType: registry.contentType,
    subscriptionOpened: () => subscriptions.inc(),
    subscriptionClosed: () => subscriptions.dec(),
    notifyLag: (ms: number) => notifyLag.observe(seconds(ms)),
    httpRequest: (code: number) => httpRequests.inc({ code: String(code) }),
    /** The exposition text (Prometheus text format, `contentType`). */
    render: () => registry.metrics(),
    /**
     * Answers `GET /metrics` on a node:http server; returns false for any
     * other path, which the caller handles.
     */
    serve(req: IncomingMessage, res: ServerResponse): boolean {
      const path = req.url?.split('?')[0];
      if (path !== METRICS_PATH) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed');
        return true;
      }
      registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : body),
        (error: unknown) => {
          opts.log?.('metrics: scrape failed', { error: String(error) });
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('metrics unavailable');
        },
      );
      return true;
    },
  };
}

/**
 * Times each pool.connect() (pool.query() goes through it too) until a client
 * is handed out: the wait for a free connection, or for a new one to open.
 */
function timePoolConnect(pool: PoolLike, observe: (ms: number) => void) {
  const connect = pool.connect.bind(pool) as (cb?: (...a: unknown[]) => void) => unknown;
  (pool as { connect: unknown }).connect = (cb?: (...a: unknown[]) => void) => {
    const started = performance.now();
    if (typeof cb === 'function') {
      return connect((...args: unknown[]) => {
        if (!args[0]) observe(performance.now() - started);
        cb(...args);
      });
    }
    return (connect() as Promise<unknown>).then((client) => {
      observe(performance.now() - started);
      return client;
    });
  };
}
