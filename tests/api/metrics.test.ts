import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { ROOT, startServer, waitFor, waitIdle, type TestServer } from '../support/server.ts';
import { subscribe } from '../support/subscribe.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ databaseUrl: await createTestDatabase(), env: { LOCAL_MODEL_TOKEN_DELAY_MS: '3' } });
});
afterAll(async () => {
  await server?.stop();
});

async function scrape() {
  const response = await fetch(`${server.url}/metrics`);
  return { response, text: await response.text() };
}

/** The value of one series (`name{labels}`) in the exposition text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics', () => {
  it('exposes run, queue and pool metrics in the Prometheus text format after a turn', async () => {
    const client = server.client('metrics-owner');
    const { context } = await client.context.create.mutate({});
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'hello metrics' });
    await waitIdle(client, context.id);

    const { response, text } = await scrape();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(sample(text, 'chat_queue_depth')).toBe(0);
    expect(sample(text, 'chat_runs{status="processing"}')).toBe(0);
    expect(sample(text, 'chat_db_pool_total')).toBeGreaterThanOrEqual(1);
    expect(text).toContain('chat_db_pool_waiting');
    expect(text).toContain('chat_db_pool_idle');
    expect(text).toContain('process_cpu_user_seconds_total');
    // The worker reports the finished run through the RunObserver port.
    expect(sample(text, 'chat_runs_finished_total{status="completed"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'chat_run_duration_seconds_count{status="completed"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'chat_run_queue_wait_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'chat_first_token_seconds_count')).toBeGreaterThanOrEqual(1);
  });

  it('counts queued runs at scrape time', async () => {
    const client = server.client('metrics-queue');
    const { context } = await client.context.create.mutate({});
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'first /long 400' });
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'second' });
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'third' });
    // While the first reply streams, the other two wait.
    const { text } = await waitFor(
      async () => {
        const s = await scrape();
        return (sample(s.text, 'chat_queue_depth') ?? 0) >= 2 ? s : null;
      },
      { what: 'two queued runs in chat_queue_depth' },
    );
    expect(sample(text, 'chat_runs{status="pending"}')).toBeGreaterThanOrEqual(2);
    await waitIdle(client, context.id, 60_000);
    await waitFor(async () => sample((await scrape()).text, 'chat_queue_depth') === 0, { what: 'an empty queue' });
  });

  it('chat_active_subscriptions follows an open subscription', async () => {
    const client = server.client('metrics-subs');
    const { context } = await client.context.create.mutate({});
    const before = sample((await scrape()).text, 'chat_active_subscriptions');
    expect(before).toBe(0);

    const sub = subscribe(client, context.id);
    await waitFor(async () => sample((await scrape()).text, 'chat_active_subscriptions') === 1, {
      what: 'chat_active_subscriptions to be 1',
    });
    sub.close();
    await waitFor(async () => sample((await scrape()).text, 'chat_active_subscriptions') === 0, {
      what: 'chat_active_subscriptions to be 0 again',
    });
  });

  it('other paths and methods', async () => {
    expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${server.url}/nothing-here`)).status).toBe(404);
    const { text } = await scrape();
    expect(sample(text, 'chat_http_requests_total{code="404"}')).toBeGreaterThanOrEqual(1);
  });
});

describe('GET /metrics on the web server', () => {
  let web: TestServer;
  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, 'apps/web/.next/BUILD_ID'))) {
      throw new Error('the web app is not built: run `npm test` (it builds first) or `npm run build -w @chat/web`');
    }
    web = await startServer({ databaseUrl: await createTestDatabase(), script: 'apps/web/server.ts' });
  });
  afterAll(async () => {
    await web?.stop();
  });

  it('is answered before Next, which still serves the rest', async () => {
    const response = await fetch(`${web.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toContain('chat_queue_depth');
    expect(text).toContain('chat_db_pool_total');
    const page = await fetch(web.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  });
});
