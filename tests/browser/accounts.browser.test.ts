import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { newChat, send, useWebApp, waitLive } from '../support/web-app.ts';

/**
 * Accounts in Chromium (DESIGN §13): every browser context is its own
 * browser (own cookies), so each starts as its own guest.
 */
const app = useWebApp();

const PASSWORD = 'correct horse battery staple';
const uniqueEmail = (who: string) => `${who}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;

/** The ids of the chats in the sidebar. */
const sidebarChats = (page: Page) =>
  page.getByTestId('context-link').evaluateAll((links) => links.map((l) => l.getAttribute('data-context-id')));

const contextIdOf = (url: string) => decodeURIComponent(new URL(url).pathname.split('/').pop()!);

/** Which kind of identity the app runs as, once it runs: 'guest' or 'user'. */
const userKind = (page: Page) => page.getByTestId('app').getAttribute('data-user-kind', { timeout: 15_000 });

async function waitReply(page: Page, count = 1) {
  try {
    await expect
      .poll(() => page.locator('[data-testid="message"][data-role="assistant"][data-status="complete"]').count(), { timeout: 20_000 })
      .toBe(count);
  } catch (error) {
    const footer = await page.locator('.chat-footer').innerText().catch(() => '');
    throw new Error(`expected ${count} complete replies; the page says: ${footer.replace(/\s+/g, ' ').trim()}`, { cause: error });
  }
}

async function fillAuthForm(page: Page, fields: { name?: string; email: string; password: string }) {
  if (fields.name !== undefined) await page.getByLabel('Name').fill(fields.name);
  await page.getByLabel('Email').fill(fields.email);
  await page.getByLabel('Password').fill(fields.password);
  await page.getByTestId('auth-submit').click();
}

async function signUpFrom(page: Page, baseUrl: string, email: string) {
  await page.goto(`${baseUrl}/sign-up`);
  await fillAuthForm(page, { name: 'Token Tester', email, password: PASSWORD });
  await page.waitForURL((u) => u.pathname === '/');
  await expect.poll(() => userKind(page)).toBe('user');
}

/** A tRPC query with an API token, as another app would make it: the HTTP status. */
async function listWithToken(baseUrl: string, token: string): Promise<number> {
  const input = encodeURIComponent(JSON.stringify({ json: { limit: 10 } }));
  const response = await fetch(`${baseUrl}/api/trpc/context.list?input=${input}`, { headers: { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  return response.status;
}

describe.skipIf(!app.enabled)('accounts in Chromium', () => {
  const contexts: BrowserContext[] = [];
  const newContext = async (options?: Parameters<Browser['newContext']>[0]) => {
    const context = await app.browser.newContext(options);
    contexts.push(context);
    return context;
  };
  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()));
  });

  it('two guests never see each other’s chats; a guest signs up and keeps its chats; signing in from a fresh browser shows them', async () => {
    const base = app.server.url;
    const pageA = await (await newContext()).newPage();
    const pageB = await (await newContext()).newPage();

    // Each browser opens straight into a working chat, as its own guest.
    const urlA = await newChat(pageA, base);
    await send(pageA, 'guest A was here');
    await waitReply(pageA);
    const urlB = await newChat(pageB, base);
    await send(pageB, 'guest B was here');
    await waitReply(pageB);
    const idA = contextIdOf(urlA);
    const idB = contextIdOf(urlB);
    expect(await userKind(pageA)).toBe('guest');
    expect(await userKind(pageB)).toBe('guest');
    expect(await pageA.getByTestId('guest-banner').innerText()).toContain('You are a guest. Sign up to keep your chats.');

    // Neither sees the other's chats: not in the list, and not by address.
    await expect.poll(() => sidebarChats(pageA), { timeout: 15_000 }).toEqual([idA]);
    await expect.poll(() => sidebarChats(pageB), { timeout: 15_000 }).toEqual([idB]);
    await pageB.goto(urlA);
    await pageB.getByRole('heading', { name: 'Chat not found' }).waitFor({ timeout: 15_000 });
    expect(await pageB.locator('body').innerText()).not.toContain('guest A was here');
    await pageA.goto(urlB);
    await pageA.getByRole('heading', { name: 'Chat not found' }).waitFor({ timeout: 15_000 });

    // Guest A signs up from the banner and keeps its chat.
    const email = uniqueEmail('a');
    await pageA.goto(urlA);
    await waitLive(pageA);
    await pageA.getByTestId('guest-sign-up').click();
    await pageA.waitForURL(/\/sign-up/);
    expect(await pageA.getByTestId('guest-note').innerText()).toMatch(/stay yours/);
    await fillAuthForm(pageA, { name: 'Alice', email, password: PASSWORD });
    await pageA.waitForURL((u) => u.pathname === '/');
    await expect.poll(() => userKind(pageA)).toBe('user');
    expect(await pageA.getByTestId('guest-banner').count()).toBe(0);
    expect(await pageA.getByTestId('account-email').innerText()).toBe(email);
    await expect.poll(() => sidebarChats(pageA), { timeout: 15_000 }).toEqual([idA]);
    await pageA.getByTestId('context-link').first().click();
    await pageA.waitForURL(/\/c\//);
    await waitLive(pageA);
    await expect.poll(() => pageA.getByTestId('message-list').innerText()).toContain('guest A was here');

    // A fresh browser signs in and sees the same chat; it can go on with it.
    const pageC = await (await newContext()).newPage();
    await pageC.goto(`${base}/sign-in`);
    await fillAuthForm(pageC, { email, password: PASSWORD });
    await pageC.waitForURL((u) => u.pathname === '/');
    await expect.poll(() => userKind(pageC)).toBe('user');
    await expect.poll(() => sidebarChats(pageC), { timeout: 15_000 }).toEqual([idA]);
    await pageC.goto(urlA);
    await waitLive(pageC);
    await expect.poll(() => pageC.getByTestId('message-list').innerText()).toContain('guest A was here');

    // Guest B still sees only its own chat.
    await pageB.goto(base);
    await expect.poll(() => sidebarChats(pageB), { timeout: 15_000 }).toEqual([idB]);

    // A wrong password is said as a sentence, not a body.
    const pageD = await (await newContext()).newPage();
    await pageD.goto(`${base}/sign-in`);
    await fillAuthForm(pageD, { email, password: 'not the password' });
    const error = await pageD.getByTestId('auth-error').innerText({ timeout: 15_000 });
    expect(error).toMatch(/do not match/);
    expect(error).not.toMatch(/[{}]/);

    // Signing out ends the session in that browser: back to the sign-in page, the chats gone from it.
    await pageC.getByTestId('sign-out').click();
    await pageC.waitForURL(/\/sign-in/);
    await pageC.getByTestId('signed-out-note').waitFor();
    await pageC.goto(base);
    await expect.poll(() => userKind(pageC)).toBe('guest');
    await expect.poll(() => pageC.locator('.sidebar').innerText(), { timeout: 15_000 }).toContain('No chats yet.');

    // The chat goes on in the account: a new message and its reply.
    await send(pageA, 'still mine after signing up');
    await waitReply(pageA, 2);
  }, 180_000);

  it('settings creates an API token, shows it once, and revokes it', async () => {
    const base = app.server.url;
    const context = await newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
    const page = await context.newPage();
    await signUpFrom(page, base, uniqueEmail('tokens'));

    await page.getByTestId('settings-link').click();
    await page.waitForURL(/\/settings$/);
    await page.getByTestId('no-tokens').waitFor({ timeout: 15_000 });

    // An empty name is refused with a sentence.
    await page.getByTestId('create-token').click();
    expect(await page.getByTestId('token-error').innerText()).toMatch(/Give the token a name/);

    await page.getByLabel('New token name').fill('ci-script');
    await page.getByTestId('create-token').click();
    const secretBox = page.getByTestId('new-token-secret');
    await secretBox.waitFor({ timeout: 15_000 });
    const secret = await secretBox.inputValue();
    expect(secret.length).toBeGreaterThan(20);
    expect(await page.getByTestId('new-token-warning').innerText()).toMatch(/will not be shown again/);
    await page.getByTestId('copy-token').click();
    await expect.poll(() => page.getByTestId('copy-token').innerText()).toBe('Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

    // Listed by name and prefix only.
    const row = page.getByTestId('token-row');
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(1);
    expect(await row.getByTestId('token-row-name').innerText()).toBe('ci-script');
    const prefix = (await row.getByTestId('token-row-prefix').innerText()).replace(/…$/, '');
    expect(prefix.length).toBeGreaterThan(0);
    expect(secret.startsWith(prefix)).toBe(true);
    expect(prefix.length).toBeLessThan(secret.length);
    expect(await row.getByTestId('token-row-last-used').innerText()).toBe('Never');

    // The token works for another app.
    expect(await listWithToken(base, secret)).toBe(200);

    // Shown once: after a reload the secret is nowhere on the page; its use shows.
    await page.reload();
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(1);
    expect(await page.getByTestId('new-token').count()).toBe(0);
    expect(await page.content()).not.toContain(secret);
    await expect
      .poll(
        async () => {
          await page.reload();
          await row.first().waitFor({ timeout: 15_000 });
          return row.getByTestId('token-row-last-used').innerText();
        },
        { timeout: 15_000, interval: 1_000 },
      )
      .not.toBe('Never');

    // Revoke asks first; cancelling keeps it.
    await row.getByTestId('revoke-token').click();
    await row.getByTestId('cancel-revoke').click();
    expect(await row.count()).toBe(1);
    await row.getByRole('button', { name: 'Revoke ci-script' }).click();
    await row.getByTestId('confirm-revoke').click();
    await page.getByTestId('no-tokens').waitFor({ timeout: 15_000 });
    expect(await listWithToken(base, secret)).toBe(401);
  });

  it('works at phone size (390×844): the banner, the sign-up page and settings fit', async () => {
    const page = await (await newContext({ viewport: { width: 390, height: 844 } })).newPage();
    await newChat(page, app.server.url);
    await page.getByTestId('guest-banner').waitFor();
    const noSideScroll = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    expect(await noSideScroll()).toBe(true);
    // On a phone the chat list (with the account links) is a drawer: open it first.
    await page.getByTestId('open-drawer').click();
    await page.getByTestId('settings-link').click();
    await page.waitForURL(/\/settings$/);
    await page.getByLabel('New token name').waitFor();
    expect(await noSideScroll()).toBe(true);
    await page.goto(`${app.server.url}/sign-up`);
    await page.getByLabel('Email').waitFor();
    expect(await noSideScroll()).toBe(true);
  });
});

describe.skipIf(!app.enabled)('accounts in Chromium with guests off (AUTH_GUESTS=off)', () => {
  let server: TestServer;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    server = await startServer({
      databaseUrl: await createTestDatabase(),
      script: 'apps/web/server.ts',
      env: { AUTH_GUESTS: 'off', LOCAL_MODEL_TOKEN_DELAY_MS: '25' },
    });
  });
  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()));
    await server?.stop();
  });

  it('shows the sign-in page first; after signing up the chat works', async () => {
    const context = await app.browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${server.url}/c/some-chat`);
    await page.waitForURL(/\/sign-in\?next=/, { timeout: 15_000 });
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.getByTestId('continue-as-guest').count()).toBe(0);
    expect(await page.getByTestId('app').count()).toBe(0);

    await page.getByTestId('to-sign-up').click();
    await page.waitForURL(/\/sign-up/);
    await fillAuthForm(page, { name: 'Off', email: uniqueEmail('off'), password: 'short' });
    expect(await page.getByTestId('auth-error').innerText()).toMatch(/at least 8 characters/);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByTestId('auth-submit').click();
    // Back where it was going (a chat that does not exist), now signed in.
    await page.waitForURL(/\/c\/some-chat/);
    await page.getByRole('heading', { name: 'Chat not found' }).waitFor({ timeout: 15_000 });
    await newChat(page, server.url);
    await send(page, 'signed in with guests off');
    await waitReply(page);
  });
});
