import AxeBuilder from '@axe-core/playwright';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/server.ts';
import { newChat, screenshot, send, useWebApp } from '../support/web-app.ts';

/**
 * An axe-core pass (issue 11) on each main screen, light and dark, desktop and
 * phone: no violation of serious or critical impact. The screenshots taken
 * here are the README's screens (scripts/screens.mjs copies them to docs/screens).
 */
const app = useWebApp();

async function violations(page: Page) {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `    ${n.target.join(' ')} — ${n.failureSummary?.split('\n').join(' ')}`).join('\n')}`);
}

const waitIdle = (page: Page) =>
  expect.poll(() => page.getByTestId('context-state').getAttribute('data-state'), { timeout: 20_000 }).toBe('Idle');

const MARKDOWN = ['# Release notes', '', 'Some **bold** words and `inline code`.', '', '- first', '- second', '', '| Name | Value |', '| --- | --- |', '| alpha | 1 |', '', '```ts', 'const answer = 42;', '```'].join('\n');

describe.skipIf(!app.enabled)('accessibility (axe-core) of the main screens', () => {
  const contexts: BrowserContext[] = [];
  const newPage = async (options: Parameters<typeof app.browser.newContext>[0] = {}) => {
    const context = await app.browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
    contexts.push(context);
    return context.newPage();
  };
  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()));
  });

  /** A chat with a Markdown reply and a tool call waiting for approval. */
  async function busyChat(page: Page) {
    await newChat(page, app.server.url);
    await send(page, `/echo ${MARKDOWN}`);
    await waitIdle(page);
    await send(page, 'please /tool save_note {"title":"groceries","body":"milk, eggs"}');
    await page.getByTestId('approval-panel').waitFor({ timeout: 20_000 });
  }

  for (const scheme of ['light', 'dark'] as const) {
    it(`a chat with a Markdown reply and a pending approval, ${scheme}`, async () => {
      const page = await newPage({ colorScheme: scheme });
      await busyChat(page);
      await screenshot(page, `desktop-${scheme}-chat`);
      expect(await violations(page)).toEqual([]);
    });
  }

  it('the chat settings and run timeline', async () => {
    const page = await newPage();
    await newChat(page, app.server.url);
    await send(page, 'hello');
    await waitIdle(page);
    await page.getByTestId('open-settings').click();
    await page.getByTestId('run-item').first().waitFor();
    await screenshot(page, 'desktop-light-settings');
    expect(await violations(page)).toEqual([]);
  });

  it('a phone with the chat list drawer open, dark', async () => {
    const page = await newPage({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, colorScheme: 'dark' });
    await busyChat(page);
    await screenshot(page, 'phone-dark-chat');
    expect(await violations(page)).toEqual([]);
    await page.getByTestId('open-drawer').tap();
    await page.getByRole('navigation', { name: 'Chats' }).waitFor();
    await screenshot(page, 'phone-dark-drawer');
    expect(await violations(page)).toEqual([]);
  });

  it('the sign-in page and the settings (API tokens) page', async () => {
    const page = await newPage();
    await page.goto(`${app.server.url}/sign-in`);
    await page.getByRole('button', { name: /sign in/i }).first().waitFor({ timeout: 30_000 });
    await screenshot(page, 'desktop-light-sign-in');
    expect(await violations(page)).toEqual([]);
    await newChat(page, app.server.url);
    await page.goto(`${app.server.url}/settings`);
    await page.getByTestId('app').waitFor();
    await page.getByRole('heading').first().waitFor();
    await screenshot(page, 'desktop-light-tokens');
    expect(await violations(page)).toEqual([]);
  });

  it("the README's screens are in docs/screens", () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const images = [...readme.matchAll(/\]\((docs\/screens\/[^)]+\.png)\)/g)].map((m) => m[1]!);
    expect(images.length).toBeGreaterThanOrEqual(4);
    for (const image of images) expect(existsSync(path.join(ROOT, image)), image).toBe(true);
  });
});
