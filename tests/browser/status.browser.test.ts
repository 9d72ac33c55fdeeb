import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.ts';
import { newChat, screenshot, send, useWebApp, waitLive } from '../support/web-app.ts';

/**
 * Honest status and the per-chat panel (issue 11, items 5 and 6), through the
 * page: the message limit in plain words and a counter, rate limits with when
 * to retry, queued questions shown as queued and answered in order, the model
 * picker (a second, OpenAI-compatible model served by a local fake), the
 * system prompt, the run timeline and the paged event log; Edit on a touch
 * screen without hover.
 */
let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  await fake?.close();
});
const app = useWebApp({
  env: () => ({
    MAX_MESSAGE_CHARS: '500',
    RATE_LIMIT_ACTIONS_PER_MIN: '40',
    LLM_PROVIDER: 'openai-compatible',
    LLM_BASE_URL: fake.baseURL,
    LLM_MODEL: 'fake-model',
  }),
});

const messages = (page: Page, role: string) => page.locator(`[data-testid="message"][data-role="${role}"]`);
const texts = (page: Page) => page.locator('[data-testid="message"]').getByTestId('message-text').allInnerTexts();
const waitIdle = (page: Page) =>
  expect.poll(() => page.getByTestId('context-state').getAttribute('data-state'), { timeout: 20_000 }).toBe('Idle');
/** A query of the page's own session: the `json` of the result. */
const query = <T,>(page: Page, procedure: string, input: unknown) =>
  page.evaluate(
    async ({ procedure, input }) => {
      const response = await fetch(`/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`);
      return ((await response.json()) as { result: { data: { json: unknown } } }).result.data.json;
    },
    { procedure, input },
  ) as Promise<T>;
const contextIdOf = (page: Page) => decodeURIComponent(new URL(page.url()).pathname.split('/').at(-1)!);

describe.skipIf(!app.enabled)('status and the chat panel in Chromium', () => {
  const contexts: BrowserContext[] = [];
  const newPage = async (options?: Parameters<typeof app.browser.newContext>[0]) => {
    const context = await app.browser.newContext({ viewport: { width: 1280, height: 860 }, ...options });
    contexts.push(context);
    return context.newPage();
  };
  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()));
  });

  it('a message over the limit: plain words with the limit, nothing stored, then a counter against the limit and Send disabled', async () => {
    const page = await newPage();
    await newChat(page, app.server.url);
    const long = 'x'.repeat(600);
    await send(page, long);
    const detail = page.getByTestId('send-error-detail');
    await expect.poll(() => detail.innerText(), { timeout: 15_000 }).toMatch(/at most 500 characters/);
    expect(await detail.innerText()).not.toMatch(/[{[]"/); // no raw JSON
    const stored = await query<{ messages: unknown[] }>(page, 'context.get', { contextId: contextIdOf(page) });
    expect(stored.messages).toEqual([]);

    // The tab learned the limit: the composer counts against it.
    await page.getByTestId('composer').fill(long);
    await expect.poll(() => page.getByTestId('char-count').innerText()).toBe('600 / 500 characters — 100 over the limit');
    expect(await page.getByTestId('send').isDisabled()).toBe(true);
    expect(await page.getByTestId('composer').getAttribute('aria-invalid')).toBe('true');
    await page.getByTestId('composer').fill('x'.repeat(499));
    await expect.poll(() => page.getByTestId('send').isDisabled()).toBe(false);

    // Far beyond any limit (a huge paste): still a sentence, never the validation JSON.
    await page.getByTestId('dismiss-send-error').click();
    await page.getByTestId('composer').fill('y'.repeat(1_000_001));
    await expect.poll(() => page.getByTestId('char-count').innerText()).toContain('over the limit');
    await screenshot(page, 'desktop-light-message-too-long');
  });

  it('questions sent while a reply streams are shown as queued, then each is answered right after it', async () => {
    const page = await newPage();
    await newChat(page, app.server.url);
    // The local model for this chat (new chats get the OpenAI-compatible default here).
    await page.getByTestId('open-settings').click();
    await page.getByTestId('model-picker').selectOption('local:scripted');
    await expect.poll(async () => (await query<{ context: { model: string } }>(page, 'context.get', { contextId: contextIdOf(page) })).context.model).toBe('local:scripted');
    await page.getByTestId('close-settings').click();

    await send(page, 'first /long 80');
    await expect.poll(() => page.getByTestId('context-state').getAttribute('data-activity'), { timeout: 15_000 }).toBe('writing');
    await send(page, 'second');
    await send(page, 'third');
    await expect.poll(() => page.getByTestId('queued-flag').count(), { timeout: 10_000 }).toBe(2);
    await expect.poll(() => page.getByTestId('queue-count').getAttribute('data-count')).toBe('2');
    await screenshot(page, 'desktop-light-queued');
    await waitIdle(page);
    await expect.poll(() => page.getByTestId('queued-flag').count()).toBe(0);
    const all = await texts(page);
    expect(all).toHaveLength(6);
    expect(all[0]).toBe('first /long 80');
    expect(all.slice(2)).toEqual(['second', 'You said: "second"', 'third', 'You said: "third"']);
  });

  it('the model picker lists system.models and is stored; the system prompt is stored; the timeline shows runs, tool calls and the paged event log', async () => {
    const page = await newPage();
    await newChat(page, app.server.url);
    const contextId = contextIdOf(page);
    await page.getByTestId('open-settings').click();
    await expect
      .poll(() => page.getByTestId('model-picker').locator('option').allInnerTexts())
      .toEqual(expect.arrayContaining(['local:scripted', 'openai-compatible:fake-model (default)']));

    // The default model is the fake OpenAI server: a send reaches it.
    const before = fake.requests.length;
    await send(page, 'hello there');
    await expect.poll(() => messages(page, 'assistant').first().getAttribute('data-status'), { timeout: 20_000 }).toBe('complete');
    await waitIdle(page);
    expect(fake.requests.length).toBeGreaterThan(before);
    expect(fake.requests.at(-1)!.model).toBe('fake-model');

    // Switch to the local model: stored, and the next reply comes from it (no request to the fake).
    await page.getByTestId('model-picker').selectOption('local:scripted');
    await expect.poll(async () => (await query<{ context: { model: string } }>(page, 'context.get', { contextId })).context.model).toBe('local:scripted');
    const afterSwitch = fake.requests.length;
    await page.getByTestId('system-prompt').fill('You are terse.');
    await page.getByTestId('save-system-prompt').click();
    await expect.poll(() => page.getByTestId('settings-saved').isVisible()).toBe(true);
    await expect.poll(async () => (await query<{ context: { systemPrompt: string | null } }>(page, 'context.get', { contextId })).context.systemPrompt).toBe('You are terse.');
    await page.reload();
    await waitLive(page);
    await page.getByTestId('open-settings').click();
    expect(await page.getByTestId('system-prompt').inputValue()).toBe('You are terse.');
    expect(await page.getByTestId('model-picker').inputValue()).toBe('local:scripted');

    await send(page, '/tool calculate {"expression":"6*7"}');
    await expect.poll(() => page.getByTestId('run-item').count(), { timeout: 20_000 }).toBe(2);
    await expect.poll(() => messages(page, 'assistant').count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    await waitIdle(page);
    expect(fake.requests.length).toBe(afterSwitch);

    // The timeline: both runs completed, newest first, with the tool call; the event log pages.
    const runs = page.getByTestId('run-item');
    // The list is read again when the latest run's status changes: it may still be on its way once the chat is Idle.
    await expect.poll(() => runs.evaluateAll((items) => items.map((i) => i.getAttribute('data-status'))), { timeout: 10_000 }).toEqual(['completed', 'completed']);
    expect(await runs.first().innerText()).toMatch(/calculate/);
    expect(await runs.first().innerText()).toMatch(/queued \d+(\.\d)? m?s, ran \d+(\.\d)? m?s/);
    const { lastEventSeq } = (await query<{ context: { lastEventSeq: number } }>(page, 'context.get', { contextId })).context;
    const events = page.getByTestId('event-item');
    await expect.poll(() => events.count()).toBe(Math.min(50, lastEventSeq));
    expect(await events.first().innerText()).toMatch(/^#1 context\.created/);
    if (lastEventSeq > 50) {
      await page.getByTestId('more-events').click();
      await expect.poll(() => events.count()).toBe(lastEventSeq);
    }
    // Each event's payload on demand.
    await events.first().locator('summary').click();
    expect(await events.first().locator('pre').innerText()).toContain('"title"');
    await screenshot(page, 'desktop-light-chat-settings');
  });

  it('on a touch screen, Edit and Regenerate are visible without hover', async () => {
    const page = await newPage({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
    await newChat(page, app.server.url);
    await send(page, 'a question to edit');
    await waitIdle(page);
    const question = messages(page, 'user').first();
    // Shown at full strength (not faded until hovered, which a finger cannot do), the question not being the last message.
    const shown = (button: ReturnType<Page['getByRole']>) =>
      button.evaluate((el) => {
        let opacity = 1;
        for (let e: Element | null = el; e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
        return el.getBoundingClientRect().width > 0 ? opacity : 0;
      });
    expect(await shown(question.getByRole('button', { name: 'Edit' }))).toBe(1);
    expect(await shown(messages(page, 'assistant').first().getByRole('button', { name: 'Regenerate' }))).toBe(1);
    await question.getByRole('button', { name: 'Edit' }).tap();
    await page.getByTestId('edit-composer').fill('an edited question');
    await page.getByTestId('save-edit').tap();
    await expect.poll(() => texts(page), { timeout: 20_000 }).toEqual(['an edited question', expect.stringContaining('an edited question')]);
  });

  it('rate limited: plain words with when to retry', async () => {
    const page = await newPage();
    await newChat(page, app.server.url);
    const contextId = contextIdOf(page);
    // Spend this user's sends for the minute (RATE_LIMIT_ACTIONS_PER_MIN=40) from the page's own session.
    const statuses = await page.evaluate(async (contextId) => {
      const out: number[] = [];
      for (let i = 0; i < 45; i++) {
        const r = await fetch('/api/trpc/chat.sendMessage', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ json: { contextId, content: `/echo ${i}`, idempotencyKey: crypto.randomUUID() } }),
        });
        out.push(r.status);
        if (r.status === 429) break;
      }
      return out;
    }, contextId);
    expect(statuses.at(-1)).toBe(429);
    await send(page, 'one more');
    await expect.poll(() => page.getByTestId('send-error-detail').innerText(), { timeout: 15_000 }).toMatch(/^You are sending too fast\. Try again in \d+ s\.$/);
    await screenshot(page, 'desktop-light-rate-limited');
  });
});
