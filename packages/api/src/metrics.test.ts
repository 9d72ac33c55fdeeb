import { createPrismaClient } from '@chat/db';
import { describe, expect, it } from 'vitest';
import { createMetrics, type PoolLike, type RawQuery } from './metrics.ts';

/** The value of one sample line (`name{labels} value`) in the exposition text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A scrape query answering the given rows, or hanging forever once `hang` is set. */
function fakeQuery(rows: { status: string; count: number }[]) {
  const state = { hang: false, calls: 0 };
  const prisma: RawQuery = {
    $queryRaw: <T>() => {
      state.calls++;
      return (state.hang ? new Promise<T>(() => {}) : Promise.resolve(rows as T)) as PromiseLike<T>;
    },
  };
  return { prisma, state };
}

describe('metrics', () => {
  it('the run observer feeds the run counters and latency histograms', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observer.runStarted?.({ runId: 'a', queuedMs: 20 });
    metrics.observer.firstToken?.({ runId: 'a', ms: 3 });
    metrics.observer.runFinished?.({ runId: 'a', status: 'completed', ms: 400 });
    metrics.observer.runFinished?.({ runId: 'b', status: 'completed', ms: 100 });
    metrics.observer.runFinished?.({ runId: 'c', status: 'error', ms: 50 });

    const finished = await metrics.registry.getSingleMetricAsString('chat_runs_finished_total');
    expect(sample(finished, 'chat_runs_finished_total{status="completed"}')).toBe(2);
    expect(sample(finished, 'chat_runs_finished_total{status="error"}')).toBe(1);
    const duration = await metrics.registry.getSingleMetricAsString('chat_run_duration_seconds');
    expect(sample(duration, 'chat_run_duration_seconds_count{status="completed"}')).toBe(2);
    expect(sample(duration, 'chat_run_duration_seconds_sum{status="completed"}')).toBeCloseTo(0.5);
    expect(sample(duration, 'chat_run_duration_seconds_bucket{le="0.25",status="completed"}')).toBe(1);
    const wait = await metrics.registry.getSingleMetricAsString('chat_run_queue_wait_seconds');
    expect(sample(wait, 'chat_run_queue_wait_seconds_sum')).toBeCloseTo(0.02);
    const first = await metrics.registry.getSingleMetricAsString('chat_first_token_seconds');
    expect(sample(first, 'chat_first_token_seconds_count')).toBe(1);
    expect(sample(first, 'chat_first_token_seconds_bucket{le="0.005"}')).toBe(1);
    expect(sample(first, 'chat_first_token_seconds_bucket{le="0.0025"}')).toBe(0);
  });

  it('subscriptions, notify lag and HTTP codes', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.subscriptionOpened();
    metrics.subscriptionOpened();
    metrics.subscriptionClosed();
    metrics.notifyLag(2);
    metrics.httpRequest(200);
    metrics.httpRequest(503);
    const text = await metrics.render();
    expect(sample(text, 'chat_active_subscriptions')).toBe(1);
    expect(sample(text, 'chat_notify_lag_seconds_count')).toBe(1);
    expect(sample(text, 'chat_http_requests_total{code="503"}')).toBe(1);
  });

  it('each instance has its own registry (several services in one process)', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.observer.runFinished?.({ runId: 'x', status: 'completed', ms: 1 });
    expect(sample(await a.render(), 'chat_runs_finished_total{status="completed"}')).toBe(1);
    expect(sample(await b.render(), 'chat_runs_finished_total{status="completed"}')).toBeUndefined();
    expect(await a.render()).toContain('process_cpu_user_seconds_total');
    expect(a.contentType).toMatch(/^text\/plain/);
  });

  it('open runs and queue depth come from one query per scrape; a hanging database keeps the last values', async () => {
    const { prisma, state } = fakeQuery([
      { status: 'pending', count: 4 },
      { status: 'processing', count: 2 },
    ]);
    const metrics = createMetrics({ prisma, queryTimeoutMs: 100, defaultMetrics: false });
    let text = await metrics.render();
    expect(state.calls).toBe(1);
    expect(sample(text, 'chat_queue_depth')).toBe(4);
    expect(sample(text, 'chat_runs{status="pending"}')).toBe(4);
    expect(sample(text, 'chat_runs{status="processing"}')).toBe(2);
    expect(sample(text, 'chat_runs{status="awaiting_approval"}')).toBe(0);

    state.hang = true;
    const started = Date.now();
    text = await metrics.render();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(sample(text, 'chat_queue_depth')).toBe(4);
    // While that query still hangs, later scrapes do not pile up more of them.
    await metrics.render();
    expect(state.calls).toBe(2);
  });

  it('a scrape answers while the database is unreachable', async () => {
    // A real client and pool pointed at a port nothing listens on.
    const db = createPrismaClient('postgresql://chat:chat@127.0.0.1:1/chat');
    try {
      const metrics = createMetrics({ prisma: db.prisma, pool: db.pool, queryTimeoutMs: 500, defaultMetrics: false });
      const text = await metrics.render();
      expect(sample(text, 'chat_queue_depth')).toBe(0);
      expect(sample(text, 'chat_db_pool_total')).toBeGreaterThanOrEqual(0);
      expect(text).toContain('chat_db_pool_waiting');
      expect(text).toContain('chat_db_pool_idle');
    } finally {
      await db.close().catch(() => {});
    }
  });

  it('times pool.connect, in its callback and its promise form', async () => {
    const pool = {
      totalCount: 3,
      idleCount: 1,
      waitingCount: 2,
      connect(cb?: (error: Error | undefined, client: unknown) => void): unknown {
        if (cb) return void setTimeout(() => cb(undefined, {}), 5);
        return new Promise((resolve) => setTimeout(() => resolve({}), 5));
      },
    };
    const metrics = createMetrics({ pool: pool as PoolLike, defaultMetrics: false });
    await new Promise<void>((resolve) => pool.connect(() => resolve()));
    await pool.connect();
    const text = await metrics.render();
    expect(sample(text, 'chat_db_pool_wait_seconds_count')).toBe(2);
    expect(sample(text, 'chat_db_pool_total')).toBe(3);
    expect(sample(text, 'chat_db_pool_idle')).toBe(1);
    expect(sample(text, 'chat_db_pool_waiting')).toBe(2);
  });
});
