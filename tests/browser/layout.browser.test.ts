import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { newChat, screenshot, send, useWebApp, waitLive } from '../support/web-app.ts';

/**
 * A layout that holds (issue 11), through the page: many pending approvals
 * in a bounded panel with the composer in view, the user's own send and
 * "Jump to latest" while reading above, the phone's drawer, dark mode, and
 * the "< 1/2 >" switcher where the transcript forks.
 */
const app = useWebApp();

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

const waitIdle = (page: Page) =>
  expect.poll(() => page.getByTestId('context-state').getAttribute('data-state'), { timeout: 20_000 }).toBe('Idle');
const messages = (page: Page, role: string) => page.locator(`[data-testid="message"][data-role="${role}"]`);
const textsOf = (page: Page, role: string) => messages(page, role).getByTestId('message-text').allInnerTexts();

async function box(page: Page, testId: string) {
  const b = await page.getByTestId(testId).first().boundingBox();
  if (!b) throw new Error(`${testId} is not on screen`);
  return b;
}

/** How far the transcript is from its bottom, in pixels. */
const fromBottom = (page: Page) =>
  page.getByTestId('message-scroller').evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);

const scrollTranscriptTo = (page: Page, top: number) =>
  page.getByTestId('message-scroller').evaluate((el, top) => {
    el.scrollTop = top;
    el.dispatchEvent(new Event('scroll'));
  }, top);

/** A new chat the way a person starts one: the empty composer, then the first message. */
async function startChat(page: Page, text: string) {
  await page.goto(app.server.url);
  await page.getByTestId('draft-chat').waitFor({ timeout: 30_000 });
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
  await page.waitForURL((u) => u.pathname.startsWith('/c/'), { timeout: 20_000 });
  await waitLive(page);
  await waitIdle(page);
  return page.url();
}

/** The page itself never scrolls: everything fits the viewport. */
const pageOverflow = (page: Page) => page.evaluate(() => document.documentElement.scrollHeight - window.innerHeight);

describe.skipIf(!app.enabled)('the layout in Chromium', () => {
  const contexts: BrowserContext[] = [];
  const newContext = async (options?: Parameters<typeof app.browser.newContext>[0]) => {
    const context = await app.browser.newContext(options);
    contexts.push(context);
    return context;
  };
  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()));
  });

  it('six pending approvals sit in a bounded panel: the composer stays in view and the transcript keeps most of the height, on a desktop and a phone', async () => {
    const browserContext = await newContext({ viewport: { width: 1280, height: 720 } });
    const page = await browserContext.newPage();
    const url = await newChat(page, app.server.url);
    const calls = Array.from({ length: 6 }, (_, i) => `/tool save_note {"title":"Note ${i + 1}","body":"the body of note ${i + 1}"}`);
    await send(page, calls.join('\n'));
    await expect.poll(() => page.getByTestId('approval-card').count(), { timeout: 20_000 }).toBe(6);
    await expect.poll(() => page.getByTestId('context-state').innerText()).toBe('Waiting for your approval');

    const phone = await (await newContext(PHONE)).newPage();
    // The phone is another browser (another guest): it signs in as this one by its cookies.
    await phone.context().addCookies(await browserContext.cookies());
    await phone.goto(url);
    await waitLive(phone);
    await expect.poll(() => phone.getByTestId('approval-card').count(), { timeout: 20_000 }).toBe(6);

    for (const [name, p] of [['desktop', page], ['phone', phone]] as const) {
      const viewport = p.viewportSize()!;
      const header = (await p.locator('.chat-header').boundingBox())!;
      const composer = await box(p, 'composer');
      const transcript = await box(p, 'message-scroller');
      const panel = await box(p, 'approval-panel');
      // The composer and the Send button are inside the viewport; the page does not scroll.
      expect(composer.y + composer.height, `${name}: composer bottom`).toBeLessThanOrEqual(viewport.height);
      expect((await box(p, 'send')).y + (await box(p, 'send')).height, `${name}: Send`).toBeLessThanOrEqual(viewport.height);
      expect(await pageOverflow(p), `${name}: page overflow`).toBeLessThanOrEqual(0);
      // Between the header and the composer, the transcript keeps at least 60% of the height.
      const shared = composer.y - (header.y + header.height);
      expect(transcript.height / shared, `${name}: transcript ${transcript.height}px of ${shared}px`).toBeGreaterThanOrEqual(0.6);
      // The panel sits between the transcript and the composer, and scrolls inside.
      expect(panel.y).toBeGreaterThanOrEqual(transcript.y + transcript.height - 1);
      expect(panel.y + panel.height).toBeLessThanOrEqual(composer.y + 1);
      expect(await p.locator('.approval-panel-cards').evaluate((el) => el.scrollHeight > el.clientHeight)).toBe(true);
      // The transcript's tool boxes do not repeat the arguments the panel shows.
      expect(await p.getByTestId('tool-call').allInnerTexts()).toHaveLength(6);
      for (const toolBox of await p.getByTestId('tool-call').allInnerTexts()) expect(toolBox).not.toContain('the body of note');
      expect(await p.getByTestId('approval-panel').innerText()).toContain('the body of note 1');
      await screenshot(p, `${name}-light-approvals`);
    }

    // The last card scrolls into view inside the panel and is decided there.
    const last = page.getByTestId('approval-card').nth(5);
    await last.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => page.getByTestId('approval-card').count(), { timeout: 15_000 }).toBe(5);
    await page.getByTestId('approve-all').click();
    await expect.poll(() => page.getByTestId('tool-result').count(), { timeout: 20_000 }).toBe(6);
    await waitIdle(page);
    expect(await page.getByTestId('approval-panel').count()).toBe(0);
    await expect.poll(() => phone.getByTestId('approval-panel').count(), { timeout: 15_000 }).toBe(0);
  });

  it('sending while scrolled up brings you to your message; new content while reading above shows "Jump to latest"', async () => {
    const page = await (await newContext({ viewport: { width: 1000, height: 560 } })).newPage();
    await newChat(page, app.server.url);
    await send(page, 'a long first reply /long 300');
    await expect.poll(() => messages(page, 'assistant').first().getAttribute('data-status'), { timeout: 30_000 }).toBe('complete');
    await waitIdle(page);
    // Followed to the bottom while it streamed.
    expect(await fromBottom(page)).toBeLessThan(80);

    await scrollTranscriptTo(page, 0);
    await expect.poll(() => fromBottom(page)).toBeGreaterThan(300);
    await send(page, 'sent from above /long 200');
    // Brought down to it: the transcript is at its end and the question is on screen.
    await expect.poll(() => textsOf(page, 'user')).toHaveLength(2);
    await expect.poll(() => fromBottom(page)).toBeLessThan(80);
    const question = messages(page, 'user').nth(1);
    const viewport = await box(page, 'message-scroller');
    const asked = (await question.boundingBox())!;
    expect(asked.y).toBeGreaterThanOrEqual(viewport.y - 1);
    expect(asked.y).toBeLessThan(viewport.y + viewport.height);

    // Reading above while the reply streams: no scrolling away, a button instead.
    await expect.poll(() => messages(page, 'assistant').nth(1).getAttribute('data-status'), { timeout: 20_000 }).toBe('streaming');
    await scrollTranscriptTo(page, 0);
    const jump = page.getByRole('button', { name: /Jump to latest/ });
    await jump.waitFor({ timeout: 10_000 });
    const top = await page.getByTestId('message-scroller').evaluate((el) => el.scrollTop);
    expect(top).toBeLessThan(240);
    await screenshot(page, 'desktop-light-jump-to-latest');
    await jump.click();
    await expect.poll(() => fromBottom(page)).toBeLessThan(80);
    await expect.poll(() => jump.count()).toBe(0);
    // Back at the bottom, it follows again until the reply ends.
    await expect.poll(() => messages(page, 'assistant').nth(1).getAttribute('data-status'), { timeout: 30_000 }).toBe('complete');
    await expect.poll(() => fromBottom(page)).toBeLessThan(80);
    expect(await jump.count()).toBe(0);
  });

  it('on a phone the chat list is a drawer: closed over a full-width chat, opened by the Chats button, closed by choosing a chat or the scrim', async () => {
    const page = await (await newContext(PHONE)).newPage();
    const first = await startChat(page, 'first phone chat');
    const second = await startChat(page, 'second phone chat');

    const sidebar = page.getByTestId('sidebar');
    const onScreen = async () => {
      const b = await sidebar.boundingBox();
      return b !== null && b.x + b.width > 1 && b.x < 390;
    };
    // Closed: the chat has the whole width.
    await expect.poll(onScreen).toBe(false);
    expect((await box(page, 'message-scroller')).width).toBeGreaterThan(380);
    expect((await box(page, 'composer')).width).toBeGreaterThan(250);
    expect(await pageOverflow(page)).toBeLessThanOrEqual(0);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, 'phone-light-chat');

    const open = page.getByTestId('open-drawer');
    expect(await open.getAttribute('aria-expanded')).toBe('false');
    await open.click();
    await expect.poll(onScreen).toBe(true);
    expect(await open.getAttribute('aria-expanded')).toBe('true');
    await expect.poll(() => page.getByTestId('context-title').allInnerTexts()).toEqual(['second phone chat', 'first phone chat']);
    await screenshot(page, 'phone-light-drawer');
    // Choosing a chat opens it and closes the drawer.
    await page.getByTestId('context-title').filter({ hasText: 'first phone chat' }).click();
    await page.waitForURL(first);
    await expect.poll(onScreen).toBe(false);
    await expect.poll(() => textsOf(page, 'user')).toEqual(['first phone chat']);

    // The scrim (the chat beside the open drawer) closes it too.
    await open.click();
    await expect.poll(onScreen).toBe(true);
    await page.mouse.click(380, 420);
    await expect.poll(onScreen).toBe(false);
    expect(page.url()).toBe(first);
    expect(second).not.toBe(first);
  });

  it('dark mode follows the system until toggled; the choice survives a reload', async () => {
    const background = (page: Page) => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const lightness = (rgb: string) => {
      const [r, g, b] = rgb.match(/\d+(\.\d+)?/g)!.map(Number);
      return (0.2126 * r! + 0.7152 * g! + 0.0722 * b!) / 255;
    };

    const darkSystem = await (await newContext({ colorScheme: 'dark' })).newPage();
    await newChat(darkSystem, app.server.url);
    expect(await darkSystem.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    expect(lightness(await background(darkSystem))).toBeLessThan(0.25);

    const page = await (await newContext({ colorScheme: 'light', viewport: { width: 1280, height: 800 } })).newPage();
    const url = await newChat(page, app.server.url);
    await send(page, 'Markdown in the dark:\n\n## A heading\n\n```js\nconsole.log("hi")\n```\n\nend');
    await waitIdle(page);
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    const light = await background(page);
    expect(lightness(light)).toBeGreaterThan(0.75);
    await screenshot(page, 'desktop-light-chat');

    await page.getByTestId('theme-toggle').click();
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await expect.poll(async () => lightness(await background(page))).toBeLessThan(0.25);
    // Text stays readable: the reply's text is light on the dark page.
    const replyText = messages(page, 'assistant').first().getByTestId('message-text');
    expect(lightness(await replyText.evaluate((el) => getComputedStyle(el).color))).toBeGreaterThan(0.6);
    expect(lightness(await page.getByTestId('composer').evaluate((el) => getComputedStyle(el).color))).toBeGreaterThan(0.6);
    // The code keeps its highlighting, in the dark theme's colours (highlighted in the browser, after the
    // text: under load, later than expect.poll's default second).
    const tokenColours = () =>
      replyText.locator('pre code span span').evaluateAll((spans) => [...new Set(spans.map((s) => getComputedStyle(s).color))]);
    await expect.poll(async () => (await tokenColours()).length, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
    expect(await page.getByTestId('theme-toggle').getAttribute('aria-label')).toBe('Switch to light mode');

    await page.goto(url);
    await waitLive(page);
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    expect(lightness(await background(page))).toBeLessThan(0.25);
    await expect.poll(() => messages(page, 'assistant').first().getAttribute('data-status')).toBe('complete');
    await screenshot(page, 'desktop-dark-chat');

    // And back.
    await page.getByTestId('theme-toggle').click();
    await expect.poll(() => background(page)).toBe(light);
    await page.reload();
    await waitLive(page);
    expect(await background(page)).toBe(light);
  });
});
