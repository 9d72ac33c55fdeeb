import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser } from '../support/browser.ts';
import { createTestDatabase } from '../support/database.ts';
import { ROOT, startServer, type TestServer } from '../support/server.ts';

const enabled = browserAvailable();

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  if (!enabled) return;
  if (!existsSync(path.join(ROOT, 'apps/web/.next/BUILD_ID'))) {
    throw new Error('the web app is not built: run `npm test` (it builds first) or `npm run build -w @chat/web`');
  }
  server = await startServer({
    databaseUrl: await createTestDatabase(),
    script: 'apps/web/server.ts',
    env: { LOCAL_MODEL_TOKEN_DELAY_MS: '25', CHECKPOINT_INTERVAL_MS: '300' },
  });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function newChat(page: Page) {
  await page.goto(server.url);
  await page.getByTestId('new-chat').click();
  await page.waitForURL(/\/c\//);
  await waitLive(page);
  return page.url();
}

const waitLive = (page: Page) =>
  expect.poll(() => page.getByTestId('connection-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('live');

const waitIdle = (page: Page) =>
  expect.poll(() => page.getByTestId('context-state').getAttribute('data-state'), { timeout: 20_000 }).toBe('Idle');

async function send(page: Page, text: string) {
  await page.getByTestId('composer').fill(text);
  await page.getByTestId('send').click();
}

const messageTexts = (page: Page, role: string) =>
  page.locator(`[data-testid="message"][data-role="${role}"] [data-testid="message-text"]`).allInnerTexts();

/** The transcript is exactly this question and its complete reply. */
async function expectExchange(page: Page, question: string) {
  await expect.poll(() => messageTexts(page, 'user'), { timeout: 20_000 }).toEqual([question]);
  await expect
    .poll(() => page.locator('[data-testid="message"][data-role="assistant"][data-status="complete"]').count(), { timeout: 20_000 })
    .toBe(1);
  await expect.poll(() => messageTexts(page, 'assistant'), { timeout: 20_000 }).toEqual([
    expect.stringContaining(`You said: "${question}"`),
  ]);
}

const branchOptions = (page: Page) =>
  page.getByTestId('branch-option').evaluateAll((options) =>
    options.map((o) => ({ id: o.getAttribute('data-branch-id'), current: o.getAttribute('aria-current') === 'true' })),
  );

describe.skipIf(!enabled)('branches in Chromium', () => {
  it('edits a message into a new branch and switches back to the first one', async () => {
    const page = await browser.newPage();
    const url = await newChat(page);
    await send(page, 'first question');
    await expectExchange(page, 'first question');
    await waitIdle(page);
    // One branch: no switcher yet.
    expect(await page.getByTestId('branch-switcher').count()).toBe(0);

    const question = page.locator('[data-testid="message"][data-role="user"]').first();
    await question.hover();
    await question.getByTestId('edit-message').click();
    const editor = page.getByTestId('edit-composer');
    expect(await editor.inputValue()).toBe('first question');
    await editor.fill('edited question');
    await page.getByTestId('save-edit').click();

    // The new branch: the edited question and its reply, streamed in; the first question is gone.
    await expect.poll(() => messageTexts(page, 'user'), { timeout: 20_000 }).toEqual(['edited question']);
    await expectExchange(page, 'edited question');
    expect(await page.getByTestId('message-list').innerText()).not.toContain('first question');
    await expect.poll(() => branchOptions(page), { timeout: 15_000 }).toHaveLength(2);
    const [first, second] = await branchOptions(page);
    expect(first!.current).toBe(false);
    expect(second!.current).toBe(true);
    expect(await page.getByTestId('branch-switcher').inputValue()).toBe(second!.id);
    await waitIdle(page);

    // Back to the first branch.
    await page.getByTestId('branch-switcher').selectOption(first!.id!);
    await expectExchange(page, 'first question');
    expect(await page.getByTestId('message-list').innerText()).not.toContain('edited question');
    await expect.poll(() => page.getByTestId('branch-switcher').inputValue()).toBe(first!.id);
    expect((await branchOptions(page)).map((o) => o.current)).toEqual([true, false]);

    // The switch is the server's: a reload shows the same branch.
    await page.goto(url);
    await waitLive(page);
    await expectExchange(page, 'first question');
    expect(await page.getByTestId('branch-switcher').inputValue()).toBe(first!.id);
    await page.close();
  });
});
