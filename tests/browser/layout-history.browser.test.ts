import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser } from '../support/browser.ts';
import { createTestDatabase } from '../support/database.ts';
import { ROOT, startServer, type TestServer } from '../support/server.ts';
import { newChat, screenshot, waitLive } from '../support/web-app.ts';

/**
 * A long transcript (issue 11), through the page: scrolling up to the start
 * loads the earlier messages and keeps the reader's place.
 */
// As useWebApp(), with runs that follow each other at once (no token delay, a short poll),
// so that a chat of 56 messages is written in seconds.
const app = { enabled: browserAvailable(), server: null as unknown as TestServer, browser: null as unknown as Browser };
beforeAll(async () => {
  if (!app.enabled) return;
  if (!existsSync(path.join(ROOT, 'apps/web/.next/BUILD_ID'))) throw new Error('the web app is not built: `npm run build -w @chat/web`');
  app.server = await startServer({
    databaseUrl: await createTestDatabase(),
    script: 'apps/web/server.ts',
    env: { LOCAL_MODEL_TOKEN_DELAY_MS: '5', CHECKPOINT_INTERVAL_MS: '300', POLL_INTERVAL_MS: '50' },
  });
  app.browser = await launchBrowser();
});
afterAll(async () => {
  await app.browser?.close();
  await app.server?.stop();
});

const waitIdle = (page: Page) =>
  expect.poll(() => page.getByTestId('context-state').getAttribute('data-state'), { timeout: 20_000 }).toBe('Idle');
const messages = (page: Page, role: string) => page.locator(`[data-testid="message"][data-role="${role}"]`);
const textsOf = (page: Page, role: string) => messages(page, role).getByTestId('message-text').allInnerTexts();
const contextIdOf = (url: string) => decodeURIComponent(new URL(url).pathname.split('/').pop()!);

/** A tRPC call from the page, as its own session: the `json` of the result. */
async function call<T>(page: Page, kind: 'query' | 'mutation', procedure: string, input: unknown): Promise<T> {
  return page.evaluate(
    async ({ kind, procedure, input }) => {
      const body = JSON.stringify({ json: input });
      const response =
        kind === 'query'
          ? await fetch(`/api/trpc/${procedure}?input=${encodeURIComponent(body)}`)
          : await fetch(`/api/trpc/${procedure}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const answer = (await response.json()) as { result?: { data?: { json?: unknown } }; error?: unknown };
      if (!response.ok) throw new Error(`${procedure}: ${response.status} ${JSON.stringify(answer.error)}`);
      return answer.result?.data?.json;
    },
    { kind, procedure, input },
  ) as Promise<T>;
}

describe.skipIf(!app.enabled)('long transcripts and forks in Chromium', () => {
  const contexts: BrowserContext[] = [];
  const newPage = async (options?: Parameters<typeof app.browser.newContext>[0]) => {
    const context = await app.browser.newContext(options);
    contexts.push(context);
    return context.newPage();
  };
  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()));
  });

  it('scrolling up to the start of a long chat loads its earlier messages and keeps the first visible message in place', async () => {
    const page = await newPage({ viewport: { width: 1280, height: 720 } });
    const url = await newChat(page, app.server.url);
    const contextId = contextIdOf(url);
    // 14 questions (queued behind each other), each answered with a tool call, its result and a
    // reply: 56 messages, more than the 50 a chat opens with (context.get's first page).
    for (let i = 1; i <= 14; i++) {
      const content = `question ${i} /tool calculate {"expression":"${i}*2"}`;
      await call(page, 'mutation', 'chat.sendMessage', { contextId, content, clientMessageId: crypto.randomUUID(), idempotencyKey: crypto.randomUUID() });
    }
    await expect
      .poll(
        async () => {
          const state = await call<{ state: { type: string }; queue: unknown[] }>(page, 'query', 'context.state', { contextId });
          return state.state.type === 'Idle' && state.queue.length === 0;
        },
        { timeout: 60_000, interval: 500 },
      )
      .toBe(true);

    await page.goto(url);
    await waitLive(page);
    const all = page.getByTestId('message');
    await expect.poll(() => all.count(), { timeout: 15_000 }).toBe(50);
    // The newest 50 of 56: from question 2's tool result on, so the first question shown is the 3rd.
    expect((await textsOf(page, 'user'))[0]).toMatch(/^question 3 /);
    expect((await textsOf(page, 'user')).at(-1)).toMatch(/^question 14 /);
    const scroller = page.getByTestId('message-scroller');
    // Opened at the end.
    await expect.poll(() => scroller.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight)).toBeLessThan(80);

    // To the top: where the first visible message is, measured before anything loads.
    const before = await scroller.evaluate((el) => {
      el.scrollTop = 0;
      const top = el.getBoundingClientRect().top;
      const first = [...el.querySelectorAll('[data-testid="message"]')].find((m) => m.getBoundingClientRect().bottom > top + 1)!;
      return { id: first.getAttribute('data-message-id'), offset: first.getBoundingClientRect().top - top };
    });
    expect(before.id).toBeTruthy();

    // The earlier page arrives in front; the same message stays where it was.
    await expect.poll(() => all.count(), { timeout: 15_000 }).toBe(56);
    expect((await textsOf(page, 'user'))[0]).toMatch(/^question 1 /);
    expect(await page.getByTestId('load-earlier').count()).toBe(0);
    const anchored = page.locator(`[data-message-id="${before.id}"]`);
    const offsetNow = () =>
      anchored.evaluate((m) => m.getBoundingClientRect().top - m.closest('[data-testid="message-scroller"]')!.getBoundingClientRect().top);
    await expect.poll(async () => Math.abs((await offsetNow()) - before.offset)).toBeLessThan(4);
    // ... with the earlier messages above it, not on screen in its place.
    expect(await scroller.evaluate((el) => el.scrollTop)).toBeGreaterThan(200);
    await screenshot(page, 'desktop-light-long-chat');
  }, 85_000);
});
