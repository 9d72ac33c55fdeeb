/**
 * The /use-chat page: the AI SDK's `useChat` on `@chat/client/ai-sdk`, in
 * Chromium against the built web app (same origin: the guest's session cookie).
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/server.ts';
import { useWebApp } from '../support/web-app.ts';

const app = useWebApp();

/** Opens /use-chat (a new chat: the page creates it and puts its id in the address); returns the chat's id. */
async function open(page: Page) {
  await page.goto(`${app.server.url}/use-chat`);
  await page.getByTestId('use-chat').waitFor({ timeout: 30_000 });
  await expect.poll(() => new URL(page.url()).searchParams.get('id'), { timeout: 10_000 }).toBeTruthy();
  return new URL(page.url()).searchParams.get('id')!;
}

async function send(page: Page, text: string) {
  await page.getByTestId('input').fill(text);
  await page.getByTestId('send').click();
}

const status = (page: Page) => page.getByTestId('use-chat').getAttribute('data-status');
/** The texts of the last assistant message, exactly as rendered. */
const replyTexts = (page: Page) => page.locator('[data-testid="message"][data-role="assistant"]').last().getByTestId('text').allTextContents();
const replyText = async (page: Page) => (await replyTexts(page)).join('');

/** What the server stored for the chat, read through the page's own session. */
function stored(page: Page, contextId: string) {
  return page.evaluate(async (id) => {
    const input = encodeURIComponent(JSON.stringify({ json: { contextId: id } }));
    const response = await fetch(`/api/trpc/context.get?input=${input}`);
    const body = (await response.json()) as {
      result: {
        data: {
          json: {
            messages: Array<{ role: string; status: string; runId: string | null; parts: Array<{ type: string; text?: string }> }>;
            toolCalls: Array<{ name: string; status: string }>;
          };
        };
      };
    };
    const { messages, toolCalls } = body.result.data.json;
    const lastRun = messages.filter((m) => m.role === 'assistant').at(-1)?.runId;
    const replies = messages.filter((m) => m.role === 'assistant' && m.runId === lastRun);
    return {
      users: messages.filter((m) => m.role === 'user').map((m) => m.parts.map((p) => p.text ?? '').join('')),
      texts: replies.map((m) => m.parts.map((p) => (p.type === 'text' ? p.text : '')).join('')),
      statuses: replies.map((m) => m.status),
      toolCalls: toolCalls.map((t) => [t.name, t.status]),
    };
  }, contextId);
}

/** A `/long N` reply: the `You said` words, then word1 ... in order: any text twice or missing breaks it. */
function expectLongReply(text: string, said: string, n: number) {
  expect(text.startsWith(`You said: "${said}"`)).toBe(true);
  const words = text.trim().split(/\s+/);
  expect(words).toHaveLength(n);
  const filler = words.slice(words.length - (n - `You said: "${said}"`.split(/\s+/).length));
  expect(filler).toEqual(filler.map((_, i) => `word${i + 1}`));
}

describe.skipIf(!app.enabled)('useChat on @chat/client/ai-sdk in Chromium (/use-chat)', () => {
  it('sends a message; the reply streams in and completes as the server stored it', async () => {
    const page = await app.browser.newPage();
    const contextId = await open(page);
    await send(page, 'hello from useChat /long 80');
    await expect.poll(() => page.locator('[data-testid="message"][data-role="user"]').allTextContents()).toEqual(['hello from useChat /long 80']);
    // Seen while streaming: part of the reply.
    const partial = await waitFor(async () => ((await status(page)) === 'streaming' && (await replyText(page)).length > 0 ? replyText(page) : null), {
      what: 'the reply to stream',
      intervalMs: 20,
    });
    await expect.poll(() => status(page), { timeout: 20_000 }).toBe('ready');
    const final = await replyText(page);
    expect(partial.length).toBeLessThan(final.length);
    expect(final.startsWith(partial)).toBe(true);
    expectLongReply(final, 'hello from useChat /long 80', 80);
    const server = await stored(page, contextId);
    expect(server.users).toEqual(['hello from useChat /long 80']);
    expect(server.texts).toEqual([final]);
    expect(server.statuses).toEqual(['complete']);
    await page.close();
  });

  it('approves a tool from the page: the tool runs on the server and the reply after it streams in', async () => {
    const page = await app.browser.newPage();
    const contextId = await open(page);
    await send(page, '/tool save_note {"title":"From useChat","body":"approved in the page"}');
    const tool = page.getByTestId('tool');
    await expect.poll(() => tool.getAttribute('data-state'), { timeout: 20_000 }).toBe('approval-requested');
    expect(await tool.getAttribute('data-tool-name')).toBe('save_note');
    expect((await stored(page, contextId)).toolCalls).toEqual([['save_note', 'pending_approval']]);
    await tool.getByTestId('approve').click();
    await expect.poll(() => tool.getAttribute('data-state'), { timeout: 20_000 }).toBe('output-available');
    await expect.poll(() => status(page), { timeout: 20_000 }).toBe('ready');
    await expect.poll(async () => (await stored(page, contextId)).statuses, { timeout: 20_000 }).toEqual(['complete', 'complete']);
    const server = await stored(page, contextId);
    expect(server.toolCalls).toEqual([['save_note', 'succeeded']]);
    expect(server.texts[1]).toMatch(/^Tool save_note returned: \{"saved":true,"title":"From useChat","noteId":"note_/);
    expect(await replyTexts(page)).toEqual(server.texts);
    expect(await tool.innerText()).toContain('"saved":true');
    expect(await page.getByTestId('approve').count()).toBe(0);
    await page.close();
  });

  it('stop cancels the reply on the server and the page keeps the partial text', async () => {
    const page = await app.browser.newPage();
    const contextId = await open(page);
    await send(page, 'stop me /long 600');
    await waitFor(async () => ((await replyText(page)).split(/\s+/).length > 10 ? true : null), { what: 'some of the reply', intervalMs: 20 });
    await page.getByTestId('stop').click();
    await expect.poll(() => status(page), { timeout: 10_000 }).toBe('ready');
    await expect.poll(async () => (await stored(page, contextId)).statuses, { timeout: 10_000 }).toEqual(['cancelled']);
    const kept = await replyText(page);
    const server = await stored(page, contextId);
    expect(kept.startsWith('You said: "stop me /long 600"')).toBe(true);
    expect(server.texts[0]!.startsWith(kept)).toBe(true);
    expect(server.texts[0]!.split(/\s+/).length).toBeLessThan(600);
    await page.close();
  });

  it('a reload mid-reply resumes it: the reply completes once, with no text twice or missing', async () => {
    const page = await app.browser.newPage();
    const contextId = await open(page);
    await send(page, 'reload me /long 300');
    await waitFor(async () => ((await replyText(page)).length > 0 ? true : null), { what: 'the reply to start', intervalMs: 20 });
    await page.reload();
    await page.getByTestId('use-chat').waitFor({ timeout: 30_000 });
    expect(new URL(page.url()).searchParams.get('id')).toBe(contextId);
    // Resumed while the reply still streams.
    await waitFor(async () => ((await status(page)) === 'streaming' && (await replyText(page)).length > 0 ? true : null), {
      what: 'the reloaded page to stream the reply',
      intervalMs: 20,
    });
    await expect.poll(() => status(page), { timeout: 30_000 }).toBe('ready');
    const server = await stored(page, contextId);
    expect(server.statuses).toEqual(['complete']);
    expect(await replyTexts(page)).toEqual(server.texts);
    expectLongReply(server.texts[0]!, 'reload me /long 300', 300);
    expect(await page.locator('[data-testid="message"][data-role="user"]').allTextContents()).toEqual(['reload me /long 300']);
    await page.close();
  });
});
