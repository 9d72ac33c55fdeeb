import { ContextAggregate } from '@chat/core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase } from '../../../tests/support/database.ts';
import { sql } from '../../../tests/support/sql.ts';
import { PrismaContextRepository } from './context-repository.ts';
import { createPrismaClient } from './prisma-client.ts';
import { ReadModels } from './read-models.ts';

let db: ReturnType<typeof createPrismaClient>;
let url: string;
const clock = () => new Date();
beforeAll(async () => {
  url = await createTestDatabase();
  db = createPrismaClient(url);
});
afterAll(async () => {
  await db?.close();
});

test("a run's events are stored with its id (its own, its messages', its tool calls'), and read back by it in order", async () => {
  const repo = new PrismaContextRepository(db.pool, clock);
  const reads = new ReadModels(db.prisma, db.pool);
  const id = `ctx_runevents_${process.pid}`;
  const created = ContextAggregate.create(
    { id, ownerId: 'o', title: 't', model: 'local:scripted', mode: 'chat', systemPrompt: null, busyPolicy: 'queue', mainBranchId: `br_${id}` },
    clock,
  );
  await repo.save(created);
  const { result: first } = await repo.transact(id, (a) => a.acceptUserMessage({ messageId: `m1_${id}`, runId: `r1_${id}`, text: 'one', clientMessageId: null }));
  const { result: second } = await repo.transact(id, (a) => a.acceptUserMessage({ messageId: `m2_${id}`, runId: `r2_${id}`, text: 'two', clientMessageId: null }));
  // The first run: claimed, a reply started, checkpointed (an event that names only its message), completed.
  await repo.transact(id, (a) => {
    a.claimRun(first.run.id, 'w', new Date(Date.now() + 60_000));
    a.startReply(first.run.id, 'w', `reply_${id}`);
  });
  await repo.transact(id, (a) => a.checkpoint(`reply_${id}`, 'partial'));
  await repo.transact(id, (a) => a.completeReply(first.run.id, 'w', `reply_${id}`, { text: 'partial and done', toolCalls: [] }));

  // The same events as filtering the whole log by payload (how run.latest read them before).
  const byPayload = (runId: string) =>
    sql<{ seq: number }>(
      url,
      `SELECT seq FROM "Event" WHERE "contextId" = $1 AND (
        payload->>'runId' = $2 OR payload->'run'->>'id' = $2 OR payload->'message'->>'runId' = $2 OR payload->'toolCall'->>'runId' = $2
        OR payload->>'messageId' IN (SELECT id FROM "Message" WHERE "runId" = $2)
        OR payload->>'toolCallId' IN (SELECT id FROM "ToolCall" WHERE "runId" = $2)
      ) ORDER BY seq`,
      [id, runId],
    ).then((rows) => rows.map((r) => r.seq));
  const ofFirst = await reads.runEvents(id, first.run.id);
  expect(ofFirst.map((e) => e.seq)).toEqual(await byPayload(first.run.id));
  expect(ofFirst.map((e) => e.type)).toEqual(expect.arrayContaining(['run.queued', 'run.started', 'message.created', 'message.checkpointed', 'message.completed', 'run.completed']));
  const ofSecond = await reads.runEvents(id, second.run.id);
  expect(ofSecond.length).toBeGreaterThan(0);
  expect(ofSecond.map((e) => e.seq)).toEqual(await byPayload(second.run.id));
});
