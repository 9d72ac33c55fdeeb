import type { BusEvent } from '@chat/core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase } from '../../../tests/support/database.ts';
import { sql } from '../../../tests/support/sql.ts';
import { PostgresEventBus } from './event-bus.ts';
import { EVENTS_CHANNEL } from './notifications.ts';
import { createPrismaClient } from './prisma-client.ts';

let url: string;
let db: ReturnType<typeof createPrismaClient>;
beforeAll(async () => {
  url = await createTestDatabase();
  db = createPrismaClient(url);
});
afterAll(async () => {
  await db?.close();
});

let n = 0;
const appName = () => `bus-test-${process.pid}-${++n}`;
const connections = async (name: string) =>
  Number((await sql<{ n: string }>(url, 'SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [name]))[0]!.n);
const dropConnection = (name: string) => sql(url, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [name]);
async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('work listeners get the context id of the notification; the NOTIFY lag is measured when the sender stamped it', async () => {
  const lags: number[] = [];
  const bus = new PostgresEventBus(db.pool, url, () => {}, { applicationName: appName(), onNotifyLag: (ms) => lags.push(ms) });
  await bus.start();
  const woken: (string | null)[] = [];
  bus.onWorkAvailable((contextId) => woken.push(contextId));
  try {
    await sql(url, 'SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, JSON.stringify({ c: 'ctx_a', f: 1, s: 1, w: true, t: Date.now() - 5 })]);
    await sql(url, 'SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, JSON.stringify({ c: 'ctx_b', f: 1, s: 1, w: false })]);
    await sql(url, 'SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, JSON.stringify({ c: 'ctx_c', f: 1, s: 1, w: true })]);
    await until(() => woken.length === 2);
    expect(woken).toEqual(['ctx_a', 'ctx_c']);
    expect(lags).toHaveLength(1); // only the stamped one
    expect(lags[0]).toBeGreaterThanOrEqual(5);
  } finally {
    await bus.close();
  }
});

test('a dropped LISTEN connection is replaced by exactly one, however often and fast it drops; subscribers resync, workers look for work', async () => {
  const name = appName();
  const log: string[] = [];
  const bus = new PostgresEventBus(db.pool, url, (msg) => log.push(msg), { applicationName: name });
  await bus.start();
  const woken: (string | null)[] = [];
  bus.onWorkAvailable((contextId) => woken.push(contextId));
  const events: BusEvent[] = [];
  bus.subscribe('ctx_watched', (event) => events.push(event));
  try {
    expect(await connections(name)).toBe(1);
    for (let round = 1; round <= 3; round++) {
      woken.length = 0;
      await dropConnection(name);
      // A second drop while it reconnects, and one right after it is back.
      await dropConnection(name);
      await until(() => woken.length === 1);
      await dropConnection(name);
      await until(() => woken.length === 2);
      expect(woken).toEqual([null, null]);
      expect(await connections(name)).toBe(1);
    }
    expect(events.filter((e) => e.type === 'resync').length).toBeGreaterThanOrEqual(6);
    expect(await connections(name)).toBe(1);
    // Still delivering after all that.
    await sql(url, 'SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, JSON.stringify({ c: 'ctx_after', f: 1, s: 1, w: true })]);
    await until(() => woken.includes('ctx_after'));
  } finally {
    await bus.close();
  }
  await until(async () => (await connections(name)) === 0);
});

test('close() while reconnecting leaves no connection and no loop behind', async () => {
  const name = appName();
  const bus = new PostgresEventBus(db.pool, url, () => {}, { applicationName: name });
  await bus.start();
  await dropConnection(name);
  await until(() => !bus.connected);
  await bus.close();
  // The reconnect loop saw the close: nothing connects afterwards.
  await new Promise((r) => setTimeout(r, 1000));
  expect(await connections(name)).toBe(0);
});

test('a delta too long for one NOTIFY arrives in pieces that fit, reassembling to the exact text (multi-byte and escaped characters too)', async () => {
  const bus = new PostgresEventBus(db.pool, url, () => {}, { applicationName: appName() });
  await bus.start();
  const pieces: { offset: number; text: string }[] = [];
  const unsubscribe = bus.subscribe('ctx_long', (event: BusEvent) => {
    if (event.type === 'message.delta') pieces.push(event.payload);
  });
  // 4-byte emoji, 2-byte letters, and control characters that JSON escapes as \u00XX (6 bytes).
  const text = Array.from({ length: 3000 }, (_, i) => ['😀', 'é', '\u0001', 'word '][i % 4]).join('');
  try {
    await bus.publishEphemeral({ type: 'message.delta', contextId: 'ctx_long', payload: { messageId: 'm', offset: 100, text } });
    await until(() => pieces.reduce((n, p) => n + p.text.length, 0) >= text.length);
    expect(pieces.length).toBeGreaterThan(1);
    let at = 100;
    for (const piece of pieces) {
      expect(piece.offset).toBe(at);
      at += piece.text.length;
      expect(Buffer.byteLength(JSON.stringify({ type: 'message.delta', contextId: 'ctx_long', payload: { messageId: 'm', ...piece } }))).toBeLessThan(8000);
    }
    expect(pieces.map((p) => p.text).join('')).toBe(text);
  } finally {
    unsubscribe();
    await bus.close();
  }
});

test('persisted events come from the notification when it carries them, from the log when it does not or after a gap', async () => {
  const bus = new PostgresEventBus(db.pool, url, () => {}, { applicationName: appName() });
  await bus.start();
  const id = `ctx_inline_${process.pid}`;
  await sql(url, `INSERT INTO "Context" (id, "ownerId", title, model, state, "updatedAt") VALUES ($1, 'o', 't', 'local', '{}', now())`, [id]);
  // The log holds seqs 1..3 with "logged" payloads; notifications may say something else for the same seqs.
  for (const seq of [1, 2, 3]) {
    await sql(url, `INSERT INTO "Event" ("contextId", seq, type, payload) VALUES ($1, $2, 'context.updated', $3)`, [id, seq, JSON.stringify({ from: 'log' })]);
  }
  const seen: { seq: number; from: unknown; createdAt: Date }[] = [];
  const unsubscribe = bus.subscribe(id, (event: BusEvent) => {
    if ('seq' in event) seen.push({ seq: event.seq, from: (event.payload as { from?: unknown }).from, createdAt: event.createdAt });
  });
  const inline = (seq: number) => ({ seq, type: 'context.updated', payload: { from: 'notification' }, createdAt: '2026-01-02T03:04:05.678Z' });
  try {
    // 1: carried, so delivered without a read.
    await sql(url, 'SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, JSON.stringify({ c: id, f: 1, s: 1, w: false, e: [inline(1)] })]);
    await until(() => seen.length === 1);
    // 3 carried, but 2 was never notified: the gap (and 3) is read from the log.
    await sql(url, 'SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, JSON.stringify({ c: id, f: 3, s: 3, w: false, e: [inline(3)] })]);
    await until(() => seen.length === 3);
    expect(seen.map((e) => [e.seq, e.from])).toEqual([
      [1, 'notification'],
      [2, 'log'],
      [3, 'log'],
    ]);
    expect(seen[0]!.createdAt.toISOString()).toBe('2026-01-02T03:04:05.678Z');
    // 4 without its events (too big to carry): read from the log.
    await sql(url, `INSERT INTO "Event" ("contextId", seq, type, payload) VALUES ($1, 4, 'context.updated', $2)`, [id, JSON.stringify({ from: 'log' })]);
    await sql(url, 'SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, JSON.stringify({ c: id, f: 4, s: 4, w: false })]);
    await until(() => seen.length === 4);
    expect(seen[3]).toMatchObject({ seq: 4, from: 'log' });
  } finally {
    unsubscribe();
    await bus.close();
    await sql(url, 'DELETE FROM "Context" WHERE id = $1', [id]);
  }
});
