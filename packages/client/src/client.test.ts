import { initTRPC, TRPCError } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import type { AddressInfo } from 'node:net';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createChatClient, type RetryOptions } from './index.ts';

/**
 * The typed client's retry link against a stub tRPC server that answers
 * SERVICE_BUSY (503, retryAfterMs) a scripted number of times per key.
 */
class Busy extends TRPCError {
  constructor(readonly appCode: string, readonly retryAfterMs?: number) {
    super({ code: appCode === 'SERVICE_BUSY' ? 'SERVICE_UNAVAILABLE' : 'CONFLICT', message: appCode });
  }
}
const t = initTRPC.create({
  transformer: superjson,
  errorFormatter: ({ shape, error }) => ({
    ...shape,
    data: {
      ...shape.data,
      appCode: error instanceof Busy ? error.appCode : error.code,
      details: error instanceof Busy && error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : undefined,
    },
  }),
});
/** calls per key; the first `failures[key]` calls fail with `error[key]`. */
const calls = new Map<string, number>();
const script = new Map<string, { failures: number; appCode: string; retryAfterMs?: number }>();
const answer = (key: string) => {
  const n = (calls.get(key) ?? 0) + 1;
  calls.set(key, n);
  const s = script.get(key);
  if (s && n <= s.failures) throw new Busy(s.appCode, s.retryAfterMs);
  return { key, calls: n };
};
const stub = t.router({
  chat: t.router({
    sendMessage: t.procedure
      .input(z.object({ contextId: z.string(), content: z.string(), idempotencyKey: z.string().optional() }))
      .mutation(({ input }) => answer(input.content)),
  }),
  context: t.router({ state: t.procedure.input(z.object({ contextId: z.string() })).query(({ input }) => answer(input.contextId)) }),
});

let url: string;
const server = createHTTPServer({ router: stub, basePath: '/api/trpc/' });
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const client = (retry?: RetryOptions | false, batch = false) => {
  const retries: { attempt: number; delayMs: number; reason: string }[] = [];
  const c = createChatClient({
    url,
    batch,
    retry: retry === false ? false : { ...retry, onRetry: (i) => retries.push(i) },
  }) as unknown as {
    chat: { sendMessage: { mutate(i: { contextId: string; content: string; idempotencyKey?: string }): Promise<{ calls: number }> } };
    context: { state: { query(i: { contextId: string }): Promise<{ calls: number }> } };
  };
  return { c, retries };
};
const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: { data?: { appCode?: string } }) => e.data?.appCode ?? 'none');

describe('createChatClient retry', () => {
  it('retries a keyed mutation answered SERVICE_BUSY, pausing about retryAfterMs', async () => {
    script.set('m1', { failures: 2, appCode: 'SERVICE_BUSY', retryAfterMs: 40 });
    const { c, retries } = client();
    const started = Date.now();
    expect(await c.chat.sendMessage.mutate({ contextId: 'x', content: 'm1', idempotencyKey: 'k1' })).toMatchObject({ calls: 3 });
    expect(retries.map((r) => r.reason)).toEqual(['service_busy', 'service_busy']);
    for (const r of retries) expect(r.delayMs).toBeGreaterThanOrEqual(40), expect(r.delayMs).toBeLessThanOrEqual(60);
    expect(Date.now() - started).toBeGreaterThanOrEqual(80);
  });

  it('never retries a mutation without an idempotency key', async () => {
    script.set('m2', { failures: 1, appCode: 'SERVICE_BUSY', retryAfterMs: 1 });
    const { c, retries } = client();
    expect(await codeOf(c.chat.sendMessage.mutate({ contextId: 'x', content: 'm2' }))).toBe('SERVICE_BUSY');
    expect(calls.get('m2')).toBe(1);
    expect(retries).toEqual([]);
  });

  it('retries queries, also inside a batch', async () => {
    script.set('q1', { failures: 3, appCode: 'SERVICE_BUSY', retryAfterMs: 5 });
    const { c } = client(undefined, true);
    const [a, b] = await Promise.all([c.context.state.query({ contextId: 'q1' }), c.context.state.query({ contextId: 'q2' })]);
    expect(a.calls).toBe(4);
    expect(b.calls).toBe(1);
  });

  it('does not retry other errors, and stops after `attempts`', async () => {
    script.set('m3', { failures: 5, appCode: 'CONFLICT' });
    script.set('m4', { failures: 10, appCode: 'SERVICE_BUSY', retryAfterMs: 1 });
    const { c } = client({ attempts: 3 });
    expect(await codeOf(c.chat.sendMessage.mutate({ contextId: 'x', content: 'm3', idempotencyKey: 'k3' }))).toBe('CONFLICT');
    expect(calls.get('m3')).toBe(1);
    expect(await codeOf(c.chat.sendMessage.mutate({ contextId: 'x', content: 'm4', idempotencyKey: 'k4' }))).toBe('SERVICE_BUSY');
    expect(calls.get('m4')).toBe(3);
  });

  it('retry: false turns it off', async () => {
    script.set('q3', { failures: 1, appCode: 'SERVICE_BUSY', retryAfterMs: 1 });
    const { c } = client(false);
    expect(await codeOf(c.context.state.query({ contextId: 'q3' }))).toBe('SERVICE_BUSY');
  });

  it('retries a network failure (no answer) of a query and a keyed mutation, with backoff', async () => {
    // A port nobody listens on: fetch rejects with a TypeError.
    const dead = createHTTPServer({ router: stub });
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    const retries: string[] = [];
    const c = createChatClient({ url: `http://127.0.0.1:${port}`, batch: false, retry: { attempts: 3, onRetry: (i) => retries.push(i.reason) } });
    await expect(c.context.state.query({ contextId: 'n1' })).rejects.toThrow();
    expect(retries).toEqual(['network', 'network']);
    retries.length = 0;
    await expect(c.chat.sendMessage.mutate({ contextId: 'n', content: 'n', idempotencyKey: 'kn' })).rejects.toThrow();
    expect(retries).toEqual(['network', 'network']);
    retries.length = 0;
    await expect(c.chat.sendMessage.mutate({ contextId: 'n', content: 'n' })).rejects.toThrow();
    expect(retries).toEqual([]);
  });
});
