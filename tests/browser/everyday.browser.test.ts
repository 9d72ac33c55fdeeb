import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { newChat, screenshot as shot, send, useWebApp, waitLive } from '../support/web-app.ts';

/**
 * What people use every day (issue 11), through the page: Markdown replies
 * with copy buttons, a new chat created only with its first message, the
 * chat list (rename, delete, search, paging through 150 chats), honest
 * status words, Escape stops, a failed reply's error cleared by the next
 * success, the offline indicator, and the "< 1/2 >" switcher where the
 * transcript forks.
 */
const app = useWebApp();

const waitIdle = (page: Page) =>
  expect.poll(() => page.getByTestId('context-state').getAttribute('data-state'), { timeout: 20_000 }).toBe('Idle');

const messages = (page: Page, role: string) => page.locator(`[data-testid="message"][data-role="${role}"]`);
const textsOf = (page: Page, role: string) => messages(page, role).getByTestId('message-text').allInnerTexts();
const replies = (page: Page) => page.locator('[data-testid="message"][data-role="assistant"]');

/** A tRPC mutation from the page, as its own session: the `json` of the result. */
async function mutate<T>(page: Page, procedure: string, input: unknown): Promise<T> {
  return page.evaluate(
    async ({ procedure, input }) => {
      const response = await fetch(`/api/trpc/${procedure}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ json: input }),
      });
      const body = (await response.json()) as { result?: { data?: { json?: unknown } }; error?: unknown };
      if (!response.ok) throw new Error(`${procedure}: ${response.status} ${JSON.stringify(body.error)}`);
      return body.result?.data?.json;
    },
    { procedure, input },
  ) as Promise<T>;
}

/** The ids of this user's chats, as the server lists them (at most 100). */
const serverChats = (page: Page) =>
  page.evaluate(async () => {
    const input = encodeURIComponent(JSON.stringify({ json: { limit: 100 } }));
    const response = await fetch(`/api/trpc/context.list?input=${input}`);
    const body = (await response.json()) as { result: { data: { json: { items: { id: string; title: string }[] } } } };
    return body.result.data.json.items.map((c) => c.title);
  });

describe.skipIf(!app.enabled)('the everyday web app in Chromium', () => {
  const contexts: BrowserContext[] = [];
  const newPage = async (options?: Parameters<typeof app.browser.newContext>[0]) => {
    const context = await app.browser.newContext(options);
    contexts.push(context);
    return context.newPage();
  };
  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()));
  });

  it('"New chat" creates nothing until the first message; that message makes one chat, titled without its Markdown, and its reply renders as Markdown with copy buttons', async () => {
    const page = await newPage({ permissions: ['clipboard-read', 'clipboard-write'], viewport: { width: 1280, height: 860 } });
    await page.goto(app.server.url);
    await page.getByTestId('draft-chat').waitFor({ timeout: 30_000 });
    for (let i = 0; i < 3; i++) {
      await page.getByRole('button', { name: 'New chat' }).click();
      await page.getByTestId('draft-chat').waitFor();
    }
    await expect.poll(() => page.getByTestId('chat-list-empty').isVisible()).toBe(true);
    expect(await serverChats(page)).toEqual([]);

    // The local model's `/echo TEXT` replies with TEXT exactly (DESIGN §10): the reply is this
    // Markdown, whose first line is also the chat's title.
    const markdown = [
      '**Release** notes',
      '',
      '# Highlights',
      '',
      'Some **bold** words and `inline code`.',
      '',
      '- first item',
      '- second item',
      '',
      '| Name | Value |',
      '| --- | --- |',
      '| alpha | 1 |',
      '| beta | 2 |',
      '',
      '```ts',
      'const answer = 42;',
      '```',
      '',
      'That is all.',
    ].join('\n');
    await page.getByRole('textbox', { name: 'Message' }).fill(`/echo ${markdown}`);
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForURL((u) => u.pathname.startsWith('/c/'), { timeout: 20_000 });
    await waitLive(page);
    await expect.poll(() => replies(page).first().getAttribute('data-status'), { timeout: 20_000 }).toBe('complete');

    // One chat, titled from the message without the command and the heading marks.
    await expect.poll(() => page.getByTestId('chat-title').innerText()).toBe('Release notes');
    await expect.poll(() => serverChats(page)).toEqual(['Release notes']);
    await expect.poll(() => page.getByTestId('context-title').allInnerTexts()).toEqual(['Release notes']);
    // The chat list is the navigation landmark "Chats", its chats links.
    expect(await page.getByRole('navigation', { name: 'Chats' }).getByRole('link').allInnerTexts()).toEqual([expect.stringContaining('Release notes')]);

    // The user's message is plain text, newlines kept.
    const question = page.locator('[data-testid="message"][data-role="user"] [data-testid="message-text"]');
    expect(await question.innerText()).toBe(`/echo ${markdown}`);
    expect(await question.locator('h1, table, pre').count()).toBe(0);

    // The reply is semantic HTML.
    const reply = replies(page).first().getByTestId('message-text');
    expect(await reply.locator('h1').innerText()).toBe('Highlights');
    expect(await reply.locator('strong').allInnerTexts()).toEqual(['Release', 'bold']);
    expect(await reply.locator('ul > li').allInnerTexts()).toEqual(['first item', 'second item']);
    expect(await reply.locator('table th').allInnerTexts()).toEqual(['Name', 'Value']);
    expect(await reply.locator('table tbody tr').count()).toBe(2);
    expect(await reply.locator('table tbody td').first().innerText()).toBe('alpha');
    // The table is the table: no unstyled controls drawn over it.
    expect(await reply.locator('[data-streamdown="table-wrapper"] button').count()).toBe(0);
    expect(await reply.locator('pre code').innerText()).toContain('const answer = 42;');
    // Highlighted: the code's tokens are coloured spans, and code is monospace.
    const tokenColours = () =>
      reply.locator('pre code span span').evaluateAll((spans) => new Set(spans.map((s) => getComputedStyle(s).color)).size);
    await expect.poll(tokenColours).toBeGreaterThanOrEqual(3);
    expect(await reply.locator('pre').evaluate((el) => getComputedStyle(el).fontFamily)).toMatch(/mono/i);
    expect(await reply.innerText()).not.toContain('**');
    expect(await reply.innerText()).not.toContain('| ---');

    // Copy on the code block copies the code; Copy on the message copies its Markdown.
    await replies(page).first().locator('[data-streamdown="code-block"]').getByRole('button', { name: /copy/i }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe('const answer = 42;\n');
    await replies(page).first().getByRole('button', { name: 'Copy', exact: true }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(markdown);
    await expect.poll(() => replies(page).first().getByTestId('copy-message').innerText()).toContain('Copied');
    await shot(page, 'desktop-light-markdown');
  });

  it('renames, deletes (after a confirmation), searches titles and message text, and pages through 150 chats', async () => {
    const page = await newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(app.server.url);
    await page.getByTestId('draft-chat').waitFor({ timeout: 30_000 });
    // 150 chats, oldest first (a chat's place in the list is its last activity).
    for (let n = 1; n <= 150; n += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => n + i).map((k) =>
          mutate(page, 'context.create', { title: `Project ${String(k).padStart(3, '0')}`, idempotencyKey: crypto.randomUUID() }),
        ),
      );
    }
    // One more, with a word in its text but not in its title: created through the page.
    await page.getByRole('textbox', { name: 'Message' }).fill('Packing list for zanzibar');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForURL((u) => u.pathname.startsWith('/c/'), { timeout: 20_000 });
    await waitLive(page);
    await waitIdle(page);
    const tripUrl = page.url();

    const items = page.getByTestId('context-item');
    const titles = () => page.getByTestId('context-title').allInnerTexts();
    await expect.poll(() => items.count()).toBe(30);
    expect((await titles())[0]).toBe('Packing list for zanzibar');

    // Paging: scrolling the list to its end loads the next page, until the oldest chat shows.
    let shown = 30;
    for (let round = 0; round < 10 && shown < 151; round++) {
      await items.last().scrollIntoViewIfNeeded();
      await page.getByTestId('more-chats').scrollIntoViewIfNeeded().catch(() => {});
      await expect.poll(() => items.count(), { timeout: 10_000 }).toBeGreaterThan(shown);
      shown = await items.count();
    }
    expect(shown).toBe(151);
    const all = await titles();
    expect(new Set(all).size).toBe(151);
    expect(all).toContain('Project 001');
    expect(all).toContain('Project 150');
    expect(await page.getByTestId('more-chats').count()).toBe(0);
    await page.getByText('Project 001', { exact: true }).click();
    await page.waitForURL((u) => u.pathname.startsWith('/c/') && u.href !== tripUrl);
    await expect.poll(() => page.getByTestId('chat-title').innerText()).toBe('Project 001');

    // Search: a title, then a word of a message's text; clearing it lists everything again.
    const search = page.getByRole('searchbox', { name: 'Search chats' });
    await search.fill('Project 04');
    await expect.poll(async () => (await titles()).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `Project 04${i}`));
    await search.fill('ZANZIBAR');
    await expect.poll(titles).toEqual(['Packing list for zanzibar']);
    await search.fill('no chat says this');
    await expect.poll(() => page.getByTestId('chat-list-empty').innerText()).toContain('No chats match');
    await search.fill('');
    await expect.poll(titles).toContain('Packing list for zanzibar');
    expect(await items.count()).toBeGreaterThanOrEqual(30);

    // Rename in place: Enter saves, the header and a reload agree.
    const trip = items.filter({ hasText: 'Packing list for zanzibar' });
    await trip.hover();
    await trip.getByRole('button', { name: /Rename/ }).click();
    const renameBox = page.getByRole('textbox', { name: 'Chat title' });
    await renameBox.fill('Holiday plans');
    await renameBox.press('Enter');
    await expect.poll(titles).toContain('Holiday plans');
    await page.goto(tripUrl);
    await waitLive(page);
    await expect.poll(() => page.getByTestId('chat-title').innerText()).toBe('Holiday plans');
    expect((await titles())[0]).toBe('Holiday plans');

    // Escape leaves a rename without saving.
    const holiday = items.filter({ hasText: 'Holiday plans' });
    await holiday.hover();
    await holiday.getByRole('button', { name: /Rename/ }).click();
    await renameBox.fill('Not this');
    await renameBox.press('Escape');
    await expect.poll(titles).toContain('Holiday plans');
    expect(await titles()).not.toContain('Not this');

    // Delete asks first; Cancel keeps the chat.
    await holiday.hover();
    await holiday.getByRole('button', { name: /Delete/ }).click();
    await page.getByTestId('cancel-delete').click();
    expect(await titles()).toContain('Holiday plans');
    await holiday.hover();
    await holiday.getByRole('button', { name: /Delete/ }).click();
    await shot(page, 'desktop-light-delete-confirm');
    await page.getByTestId('confirm-delete').click();
    // Deleting the open chat leaves it for a new one; it is gone from the list and the server.
    await page.waitForURL((u) => u.pathname === '/');
    await expect.poll(titles).not.toContain('Holiday plans');
    expect(await serverChats(page)).not.toContain('Holiday plans');
    await page.goto(tripUrl);
    await expect.poll(() => page.getByRole('heading', { name: 'Chat not found' }).isVisible(), { timeout: 15_000 }).toBe(true);
  });

  it('says Thinking, then Writing; Escape stops the reply', async () => {
    const page = await newPage();
    await newChat(page, app.server.url);
    // Every word the status pill shows, in order.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { activities: string[] }).activities = seen;
      const pill = document.querySelector('[data-testid="context-state"]')!;
      const note = () => {
        const kind = pill.getAttribute('data-activity') ?? '';
        if (seen.at(-1) !== kind) seen.push(kind);
      };
      note();
      new MutationObserver(note).observe(pill, { attributes: true, attributeFilter: ['data-activity'] });
    });
    await send(page, 'a long one /long 400');
    await expect.poll(() => page.getByTestId('context-state').innerText(), { timeout: 20_000 }).toBe('Writing…');
    const activities = await page.evaluate(() => (window as unknown as { activities: string[] }).activities);
    expect(activities.slice(0, 3)).toEqual(['idle', 'thinking', 'writing']);

    await page.getByRole('textbox', { name: 'Message' }).press('Escape');
    await expect.poll(() => replies(page).first().getAttribute('data-status'), { timeout: 15_000 }).toBe('cancelled');
    await waitIdle(page);
    expect(await replies(page).first().getByTestId('message-note').innerText()).toBe('Stopped');
    const words = (await replies(page).first().getByTestId('message-text').innerText()).trim().split(/\s+/).length;
    expect(words).toBeLessThan(400);
    expect(await page.getByTestId('context-state').innerText()).toBe('Ready');
    expect(await page.getByRole('button', { name: 'Stop' }).count()).toBe(0);
  });

  it('shows a failed reply’s error on it until the next reply succeeds; a dismissed error stays away; offline is shown', async () => {
    const browserContext = await app.browser.newContext();
    contexts.push(browserContext);
    const page = await browserContext.newPage();
    await newChat(page, app.server.url);
    await send(page, 'this one breaks /fail');
    const error = page.getByTestId('run-error');
    await error.waitFor({ timeout: 20_000 });
    expect(await error.innerText()).toMatch(/\w/);
    expect(await error.innerText()).not.toMatch(/[{}]/); // plain words, not JSON
    await waitIdle(page);

    await send(page, 'and this one works');
    await expect.poll(() => replies(page).nth(1).getAttribute('data-status'), { timeout: 20_000 }).toBe('complete');
    await expect.poll(() => error.count()).toBe(0);
    expect(await page.getByTestId('last-error').count()).toBe(0);
    await page.reload();
    await waitLive(page);
    await expect.poll(() => replies(page).count()).toBe(2);
    expect(await error.count()).toBe(0);

    // Another failure, dismissed: it stays dismissed after a reload.
    await send(page, 'broken again /fail');
    await error.waitFor({ timeout: 20_000 });
    await waitIdle(page);
    await page.getByTestId('dismiss-run-error').click();
    await expect.poll(() => error.count()).toBe(0);
    await page.reload();
    await waitLive(page);
    await expect.poll(() => replies(page).count()).toBe(3);
    expect(await error.count()).toBe(0);

    // The browser goes offline: the status says so, and comes back live.
    await browserContext.setOffline(true);
    const connection = page.getByTestId('connection-state');
    await expect.poll(() => connection.getAttribute('data-state'), { timeout: 10_000 }).toBe('offline');
    expect(await connection.innerText()).toMatch(/Offline/);
    await shot(page, 'desktop-light-offline');
    await browserContext.setOffline(false);
    await waitLive(page);
    expect(await connection.innerText()).toBe('Live');
  });

  it('where the transcript forks, "< 1/2 >" on that message switches between its versions: an edited question and a regenerated earlier reply', async () => {
    const page = await newPage({ viewport: { width: 1280, height: 800 } });
    const url = await newChat(page, app.server.url);
    await send(page, 'the first question');
    await waitIdle(page);
    await send(page, 'the second question');
    await expect.poll(() => messages(page, 'assistant').nth(1).getAttribute('data-status'), { timeout: 20_000 }).toBe('complete');
    await waitIdle(page);
    expect(await page.getByTestId('variant-nav').count()).toBe(0);

    // Regenerate the first reply (not the latest): a fork after the first question.
    const firstReply = messages(page, 'assistant').first();
    await firstReply.hover();
    await firstReply.getByRole('button', { name: /Regenerate/ }).click();
    await expect.poll(() => textsOf(page, 'user'), { timeout: 20_000 }).toEqual(['the first question']);
    await expect.poll(() => messages(page, 'assistant').first().getAttribute('data-status'), { timeout: 20_000 }).toBe('complete');
    await waitIdle(page);
    const nav = messages(page, 'assistant').first().getByTestId('variant-nav');
    await expect.poll(() => nav.getByTestId('variant-label').innerText(), { timeout: 15_000 }).toBe('2/2');

    await nav.getByRole('button', { name: 'Previous version' }).click();
    await expect.poll(() => textsOf(page, 'user'), { timeout: 15_000 }).toEqual(['the first question', 'the second question']);
    await expect.poll(() => messages(page, 'assistant').first().getByTestId('variant-label').innerText(), { timeout: 15_000 }).toBe('1/2');
    expect(await messages(page, 'assistant').first().getByRole('button', { name: 'Previous version' }).isDisabled()).toBe(true);

    // Edit the second question: a fork there, with its own switcher.
    const second = messages(page, 'user').nth(1);
    await second.hover();
    await second.getByRole('button', { name: /Edit/ }).click();
    await page.getByTestId('edit-composer').fill('the second question, edited');
    await page.getByTestId('save-edit').click();
    await expect.poll(() => textsOf(page, 'user'), { timeout: 20_000 }).toEqual(['the first question', 'the second question, edited']);
    await expect.poll(() => messages(page, 'assistant').nth(1).getAttribute('data-status'), { timeout: 20_000 }).toBe('complete');
    await waitIdle(page);
    const editedNav = messages(page, 'user').nth(1).getByTestId('variant-nav');
    await expect.poll(() => editedNav.getByTestId('variant-label').innerText(), { timeout: 15_000 }).toBe('2/2');
    // The first reply's fork is still there, shown as its first version.
    expect(await messages(page, 'assistant').first().getByTestId('variant-label').innerText()).toBe('1/2');
    await shot(page, 'desktop-light-branches');

    await editedNav.getByRole('button', { name: 'Previous version' }).click();
    await expect.poll(() => textsOf(page, 'user'), { timeout: 15_000 }).toEqual(['the first question', 'the second question']);
    await expect.poll(() => messages(page, 'user').nth(1).getByTestId('variant-label').innerText()).toBe('1/2');

    // The switch is the server's: a reload shows the same versions.
    await page.goto(url);
    await waitLive(page);
    await expect.poll(() => textsOf(page, 'user'), { timeout: 15_000 }).toEqual(['the first question', 'the second question']);
    await expect.poll(() => messages(page, 'user').nth(1).getByTestId('variant-label').innerText(), { timeout: 15_000 }).toBe('1/2');
    await messages(page, 'user').nth(1).getByRole('button', { name: 'Next version' }).click();
    await expect.poll(() => textsOf(page, 'user'), { timeout: 15_000 }).toEqual(['the first question', 'the second question, edited']);
  });
});
