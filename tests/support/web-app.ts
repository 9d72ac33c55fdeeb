import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { browserAvailable, launchBrowser } from './browser.ts';
import { createTestDatabase } from './database.ts';
import { ROOT, startServer, type TestServer } from './server.ts';

/**
 * The built web app on its own database, and a Chromium, for one browser test
 * file. `enabled` is false (the suite skips, loudly) only where Chromium is
 * missing outside CI. `env()` (read when the server starts) adds to the server's environment.
 */
export function useWebApp(opts: { env?: () => Record<string, string> } = {}) {
  const app = { enabled: browserAvailable(), server: null as unknown as TestServer, browser: null as unknown as Browser };
  beforeAll(async () => {
    if (!app.enabled) return;
    if (!existsSync(path.join(ROOT, 'apps/web/.next/BUILD_ID'))) {
      throw new Error('the web app is not built: run `npm test` (it builds first) or `npm run build -w @chat/web`');
    }
    app.server = await startServer({
      databaseUrl: await createTestDatabase(),
      script: 'apps/web/server.ts',
      env: { LOCAL_MODEL_TOKEN_DELAY_MS: '25', CHECKPOINT_INTERVAL_MS: '300', ...opts.env?.() },
    });
    app.browser = await launchBrowser();
  });
  afterAll(async () => {
    await app.browser?.close();
    await app.server?.stop();
  });
  return app;
}

export const waitLive = (page: Page) =>
  expect.poll(() => page.getByTestId('connection-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('live');

/** Opens the app, creates a chat, waits for its live connection; returns the chat's URL. */
export async function newChat(page: Page, baseUrl: string) {
  // "New chat" only opens a composer (the chat is created with its first message), so the
  // chat is created here through the page's own session, then opened.
  await page.goto(baseUrl);
  await page.getByTestId('app').waitFor({ timeout: 30_000 });
  const contextId = await page.evaluate(async () => {
    const response = await fetch('/api/trpc/context.create', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ json: { idempotencyKey: crypto.randomUUID() } }),
    });
    const body = (await response.json()) as { result?: { data?: { json?: { context?: { id?: string } } } } };
    return body.result?.data?.json?.context?.id ?? null;
  });
  if (!contextId) throw new Error('context.create from the page failed');
  await page.goto(`${baseUrl}/c/${encodeURIComponent(contextId)}`);
  await waitLive(page);
  return page.url();
}

export async function send(page: Page, text: string) {
  await page.getByTestId('composer').fill(text);
  await page.getByTestId('send').click();
}

/** A screenshot of the page, kept as test-results/screens/<name>.png (and in SCREENSHOT_DIR, if set). */
export async function screenshot(page: Page, name: string) {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const image = await page.screenshot();
  for (const dir of [path.join(ROOT, 'test-results/screens'), process.env.SCREENSHOT_DIR].filter((d): d is string => !!d)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${name}.png`), image);
  }
}
