import { ContextAggregate, ConcurrencyError, isConcurrencyError } from '@chat/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../tests/support/database.ts';
import { PrismaContextRepository } from './context-repository.ts';
import { createPrismaClient } from './prisma-client.ts';

let db: ReturnType<typeof createPrismaClient>;
let repo: PrismaContextRepository;
const clock = () => new Date();
let n = 0;
const id = (kind: string) => `${kind}_${process.pid}_${++n}`;

beforeAll(async () => {
  db = createPrismaClient(await createTestDatabase());
  repo = new PrismaContextRepository(db.prisma, clock);
});
afterAll(async () => {
  await db?.close();
});

async function newContext() {
  const aggregate = ContextAggregate.create(
    { id: id('ctx'), ownerId: 'o', title: 't', model: 'local:scripted', mode: 'chat', systemPrompt: null, busyPolicy: 'queue', mainBranchId: id('br') },
    clock,
  );
  await repo.save(aggregate);
  return aggregate.id;
}

function send(a: ContextAggregate, text = 'hi') {
  return a.acceptUserMessage({ messageId: id('msg'), runId: id('run'), text, clientMessageId: null });
}

describe('dirty-flag repository on PostgreSQL', () => {
  it('a clean save sends no query at all', async () => {
    const contextId = await newContext();
    const aggregate = await repo.load(contextId);
    aggregate.update({ title: 't' }); // same value: no change
    void aggregate.queue; // reading does not dirty
    expect(aggregate.isDirty).toBe(false);
    db.queryCount.reset();
    await repo.save(aggregate);
    expect(db.queryCount.value).toBe(0);
  });

  it('a dirty save is one transaction holding the rows, the guarded context update and the events', async () => {
    const contextId = await newContext();
    const aggregate = await repo.load(contextId);
    send(aggregate);
    db.queryCount.reset();
    await repo.save(aggregate);
    const log = db.queryCount.log;
    expect(log[0]).toBe('BEGIN');
    expect(log.at(-1)).toBe('COMMIT');
    expect(log.filter((q) => q === 'BEGIN' || q === 'COMMIT')).toHaveLength(2);
    expect(log.some((q) => /UPDATE "public"\."Context"/.test(q) && /"version" = \$/.test(q))).toBe(true);
    expect(log.some((q) => /INSERT INTO "public"\."Message"/.test(q))).toBe(true);
    expect(log.some((q) => /INSERT INTO "public"\."Event"/.test(q))).toBe(true);
    expect(aggregate.isDirty).toBe(false);

    // Saved: the next load sees it, and the version moved on by one.
    const again = await repo.load(contextId);
    expect(again.context.version).toBe(1);
    expect(again.state.type).toBe('ProcessingUserMessage');
    const events = await db.prisma.event.findMany({ where: { contextId }, orderBy: { seq: 'asc' } });
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(again.context.lastEventSeq).toBe(5);
  });

  it('two writers with the same version: one wins, the other gets ConcurrencyError', async () => {
    const contextId = await newContext();
    const first = await repo.load(contextId);
    const second = await repo.load(contextId);
    send(first, 'from first');
    send(second, 'from second');
    const results = await Promise.allSettled([repo.save(first), repo.save(second)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(ConcurrencyError);
    expect(isConcurrencyError(rejected.reason)).toBe(true);
    const messages = await db.prisma.message.findMany({ where: { contextId } });
    expect(messages).toHaveLength(1);
    const events = await db.prisma.event.count({ where: { contextId } });
    expect(events).toBe((await repo.load(contextId)).context.lastEventSeq);
  });

  it('a failure inside the transaction leaves nothing half-written', async () => {
    const contextId = await newContext();
    const aggregate = await repo.load(contextId);
    const { message, run } = send(aggregate);
    // Another row already holds the seq of the last event: the transaction fails midway,
    // after the context update and the message and run inserts.
    const lastSeq = aggregate.uncommittedEvents.at(-1)!.seq;
    await db.prisma.event.create({ data: { contextId, seq: lastSeq, type: 'context.updated', payload: { changes: {} } } });
    await expect(repo.save(aggregate)).rejects.toThrow();
    expect(await db.prisma.message.findUnique({ where: { id: message.id } })).toBeNull();
    expect(await db.prisma.run.findUnique({ where: { id: run.id } })).toBeNull();
    const row = await db.prisma.context.findUniqueOrThrow({ where: { id: contextId } });
    expect(row.version).toBe(0);
    expect(row.state).toEqual({ type: 'Idle' });
    expect(aggregate.isDirty).toBe(true);
  });

  it('writes lease columns only when the aggregate changed the lease', async () => {
    const contextId = await newContext();
    const a = await repo.load(contextId);
    const { run } = send(a);
    await repo.save(a);
    const claimer = await repo.load(contextId);
    const until = new Date(Date.now() + 60_000);
    expect(claimer.claimRun(run.id, 'w1', until)).toBe(true);
    await repo.save(claimer);
    // A lease renewal happens outside the aggregate; a later save must not undo it.
    const renewed = new Date(Date.now() + 120_000);
    await db.prisma.run.update({ where: { id: run.id }, data: { leaseExpiresAt: renewed } });
    const writer = await repo.load(contextId);
    writer.startReply(run.id, 'w1', id('msg'));
    await repo.save(writer);
    const row = await db.prisma.run.findUniqueOrThrow({ where: { id: run.id } });
    expect(row.leaseExpiresAt?.getTime()).toBe(renewed.getTime());
    expect(row.leaseOwner).toBe('w1');
  });
});
