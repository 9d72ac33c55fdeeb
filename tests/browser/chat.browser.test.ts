import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/server.ts';
import { newChat, send, useWebApp } from '../support/web-app.ts';

const app = useWebApp();

const messageTexts = (page: Page, role: string) =>
  page.locator(`[data-testid="message"][data-role="${role}"]`).allInnerTexts();

describe.skipIf(!app.enabled)('the web app in Chromium', () => {
  it('sends a message from the page and shows both messages', async () => {
    const page = await app.browser.newPage();
    await newChat(page, app.server.url);
    await send(page, 'Hello from the browser');
    await expect.poll(() => messageTexts(page, 'user')).toEqual([expect.stringContaining('Hello from the browser')]);
    await expect
      .poll(() => page.locator('[data-testid="message"][data-role="assistant"][data-status="complete"]').count(), { timeout: 20_000 })
      .toBe(1);
    expect((await messageTexts(page, 'assistant'))[0]).toContain('You said: "Hello from the browser"');
    await page.close();
  });

  it('streams tokens into two pages at once, and a page reloaded mid-stream resumes', async () => {
    // Two tabs of one browser (one context: its cookies, so the same guest).
    const browserContext = await app.browser.newContext();
    const first = await browserContext.newPage();
    const url = await newChat(first, app.server.url);
    const second = await browserContext.newPage();
    await second.goto(url);
    await expect.poll(() => second.getByTestId('connection-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('live');

    await send(first, 'stream to both /long 300');
    const assistantText = async (page: Page) =>
      (await page.locator('[data-testid="message"][data-role="assistant"] [data-testid="message-text"]').allInnerTexts())[0] ?? '';
    // Both pages show the reply growing while it streams.
    const lengths: number[] = [];
    await waitFor(async () => {
      lengths.push((await assistantText(second)).length);
      return lengths.filter((n, i) => i > 0 && n > lengths[i - 1]!).length >= 3;
    }, { timeoutMs: 20_000, intervalMs: 100, what: 'the reply to grow on the second page' });
    expect((await assistantText(first)).length).toBeGreaterThan(0);

    await second.reload();
    await expect.poll(() => second.getByTestId('connection-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('live');
    const streaming = second.locator('[data-testid="message"][data-role="assistant"]');
    // Resumed mid-stream: the reloaded page shows the reply still streaming, with the text so far.
    await waitFor(async () => (await streaming.first().getAttribute('data-status')) === 'streaming' && (await assistantText(second)).length > 0, {
      timeoutMs: 15_000,
      what: 'the reloaded page to show the reply streaming',
    });
    await expect.poll(() => streaming.first().getAttribute('data-status'), { timeout: 30_000 }).toBe('complete');
    await expect.poll(() => first.locator('[data-testid="message"][data-role="assistant"]').first().getAttribute('data-status'), { timeout: 30_000 }).toBe('complete');
    const finalFirst = await assistantText(first);
    const finalSecond = await assistantText(second);
    expect(finalSecond).toBe(finalFirst);
    expect(finalFirst.trim().split(/\s+/)).toHaveLength(300);
    await browserContext.close();
  });

  it('approves a tool from the page and shows its result and the reply', async () => {
    const page = await app.browser.newPage();
    await newChat(page, app.server.url);
    await send(page, '/tool save_note {"title":"From the page","body":"approved in Chromium"}');
    const card = page.getByTestId('approval-card');
    await card.waitFor({ timeout: 20_000 });
    expect(await card.getAttribute('data-tool-name')).toBe('save_note');
    await card.getByTestId('approve').click();
    await page.getByTestId('tool-result').first().waitFor({ timeout: 20_000 });
    await expect.poll(() => page.getByTestId('context-state').getAttribute('data-state'), { timeout: 20_000 }).toBe('Idle');
    expect(await page.getByTestId('tool-result').first().innerText()).toMatch(/succeeded/i);
    const replies = await messageTexts(page, 'assistant');
    expect(replies.at(-1)).toMatch(/Tool save_note returned/);
    expect(await page.getByTestId('approval-card').count()).toBe(0);
    await page.close();
  });
});
