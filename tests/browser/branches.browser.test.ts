import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { newChat, send, useWebApp, waitLive } from '../support/web-app.ts';

const app = useWebApp();

const waitIdle = (page: Page) =>
  expect.poll(() => page.getByTestId('context-state').getAttribute('data-state'), { timeout: 20_000 }).toBe('Idle');

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

describe.skipIf(!app.enabled)('branches in Chromium', () => {
  it('edits a message into a new branch and switches back to the first one', async () => {
    const page = await app.browser.newPage();
    const url = await newChat(page, app.server.url);
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
