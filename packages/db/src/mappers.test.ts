import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../tests/support/database.ts';
import { fromMessageRow, messageSelect, toMessage, type MessageRow } from './mappers.ts';
import { createPrismaClient } from './prisma-client.ts';

let db: ReturnType<typeof createPrismaClient>;

beforeAll(async () => {
  db = createPrismaClient(await createTestDatabase());
});
afterAll(async () => {
  await db?.close();
});

describe('messageSelect + fromMessageRow', () => {
  it('read a message exactly as Prisma does: nulls, nested JSON parts, attempts, unicode and millisecond times', async () => {
    const contextId = `ctx_map_${process.pid}`;
    await db.prisma.context.create({ data: { id: contextId, ownerId: 'o', title: 't', model: 'local:scripted', state: { type: 'Idle' } } });
    const parts = [
      { type: 'text', text: 'zwei Wörter, "quoted", \\ back\nslash, emoji 🧪, nul-free' },
      { type: 'tool-call', toolCallId: 'tc1', toolName: 'calc', args: { expression: '1+2', nested: [1, 2.5, null, { deep: true }] } },
      { type: 'tool-result', toolCallId: 'tc1', result: { value: 3 } },
    ];
    const rows = [
      { id: `m1_${process.pid}`, seq: 1, parentId: null, runId: null, clientMessageId: 'k1', attempts: [], createdAt: new Date('2026-01-02T03:04:05.678Z') },
      {
        id: `m2_${process.pid}`,
        seq: 2,
        parentId: `m1_${process.pid}`,
        runId: 'run_x',
        clientMessageId: null,
        attempts: [{ attempt: 1, parts: [{ type: 'text', text: 'cut' }], status: 'interrupted' }],
        createdAt: new Date('1999-12-31T23:59:59.001Z'),
      },
    ];
    for (const r of rows) {
      await db.prisma.message.create({ data: { ...r, contextId, branchId: 'b', role: 'assistant', parts, status: 'complete' } });
    }
    const viaPrisma = (await db.prisma.message.findMany({ where: { contextId }, orderBy: { seq: 'asc' } })).map(toMessage);
    const { rows: cheap } = await db.pool.query<MessageRow>(`SELECT ${messageSelect('m')} FROM "Message" m WHERE "contextId" = $1 ORDER BY seq`, [contextId]);
    const viaSelect = cheap.map(fromMessageRow);
    expect(viaSelect).toEqual(viaPrisma);
    expect(viaSelect.map((m) => m.createdAt.toISOString())).toEqual(rows.map((r) => r.createdAt.toISOString()));
    // Same keys in the same order: a client's JSON of the two is byte for byte the same.
    expect(JSON.stringify(viaSelect)).toBe(JSON.stringify(viaPrisma));
  });
});
