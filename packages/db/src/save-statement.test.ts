import { expect, test } from 'vitest';
import { MAX_NOTIFY_BYTES, type EventsNotification } from './notifications.ts';
import { notificationPayload } from './save-statement.ts';

const event = (seq: number, text: string) => ({ seq, type: 'message.completed', payload: { text }, createdAt: '2026-01-01T00:00:00.000Z' });
const base: EventsNotification = { c: 'ctx', f: 1, s: 2, w: false, t: 1 };

test('a notification carries its events while they fit in one NOTIFY, counted in bytes, else only their seqs', () => {
  const small = JSON.parse(notificationPayload({ ...base, e: [event(1, 'a'), event(2, 'b')] }));
  expect(small.e.map((e: { seq: number }) => e.seq)).toEqual([1, 2]);
  // 3,000 characters of 3 bytes each: under the limit in characters, over it in bytes.
  const wide = notificationPayload({ ...base, e: [event(1, '€'.repeat(3000))] });
  expect(Buffer.byteLength(wide)).toBeLessThanOrEqual(MAX_NOTIFY_BYTES);
  expect(JSON.parse(wide)).toEqual(base);
  const ascii = notificationPayload({ ...base, e: [event(1, 'x'.repeat(7000))] });
  expect(Buffer.byteLength(ascii)).toBeLessThanOrEqual(MAX_NOTIFY_BYTES);
  expect(JSON.parse(ascii).e).toHaveLength(1);
});

test('statements of a multi-statement query are counted outside quoted literals', async () => {
  const { statementsIn } = await import('./prisma-client.ts');
  const pg = (await import('pg')).default;
  expect(statementsIn('BEGIN')).toBe(1);
  expect(statementsIn(`BEGIN; SELECT 1 FROM "Context" WHERE id = ${pg.escapeLiteral("a;b'c;\\d")}; `)).toBe(2);
  expect(statementsIn("SELECT ';' ; ; COMMIT")).toBe(2);
});
