import { buildModelHistory, ContextAggregate, ConcurrencyError, isConcurrencyError } from '@chat/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../tests/support/database.ts';
import { PrismaContextRepository } from './context-repository.ts';
import { createPrismaClient } from './prisma-client.ts';

let db: ReturnType<typeof createPrismaClient>;
let url: string;
let repo: PrismaContextRepository;
const clock = () => new Date();
let n = 0;
const id = (kind: string) => `${kind}_${process.pid}_${++n}`;

beforeAll(async () => {
  url = await createTestDatabase();
  db = createPrismaClient(url);
  repo = new PrismaContextRepository(db.pool, clock);
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

  it('a dirty save is one transaction: one statement holding the rows, the guarded context update, the events and the NOTIFY', async () => {
    const contextId = await newContext();
    const current = await repo.load(contextId);
    db.queryCount.reset();
    const { aggregate } = await repo.transact(contextId, (a) => send(a), { current });
    const log = db.queryCount.log.map((q) => q.trim());
    // Three round trips: BEGIN with the row lock, the one write statement, COMMIT.
    expect(log).toHaveLength(3);
    expect(log[0]).toMatch(/^BEGIN; SELECT version FROM "Context" WHERE id = '[^']+' AND "deletedAt" IS NULL FOR UPDATE$/);
    expect(db.queryCount.value).toBe(4); // statements: BEGIN and the lock count as two
    expect(log.at(-1)).toBe('COMMIT');
    expect(log[1]).toMatch(/UPDATE "Context" SET[\s\S]*WHERE id = \$\d+ AND version = \$\d+/);
    expect(log[1]).toMatch(/INSERT INTO "Message"/);
    expect(log[1]).toMatch(/INSERT INTO "Run"/);
    expect(log[1]).toMatch(/INSERT INTO "Event"/);
    expect(log[1]).toMatch(/pg_notify/);
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

  it('transact serialises writers: 40 concurrent changes on stale reads all land, in one order, none lost', async () => {
    const contextId = await newContext();
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => repo.transact(contextId, (a) => send(a, `m${i}`).message.seq)),
    );
    const seqs = results.map((r) => r.result).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const after = await repo.load(contextId);
    expect(after.context.version).toBe(40);
    expect(await db.prisma.message.count({ where: { contextId } })).toBe(40);
    const events = await db.prisma.event.findMany({ where: { contextId }, orderBy: { seq: 'asc' }, select: { seq: true } });
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: after.context.lastEventSeq }, (_, i) => i + 1));
  });

  it('transact across two repositories (two processes) is serialised by the row lock', async () => {
    const other = createPrismaClient(url);
    try {
      const repo2 = new PrismaContextRepository(other.pool, clock);
      const contextId = await newContext();
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? repo : repo2).transact(contextId, (a) => send(a, `x${i}`))),
      );
      expect((await repo.load(contextId)).context.version).toBe(20);
      expect(await db.prisma.message.count({ where: { contextId } })).toBe(20);
    } finally {
      await other.close();
    }
  });

  it('transact reuses the aggregate last committed in this process when nobody wrote since, and reloads when another process did', async () => {
    const other = createPrismaClient(url);
    try {
      const repo2 = new PrismaContextRepository(other.pool, clock);
      const contextId = await newContext();
      const first = await repo.transact(contextId, (a) => send(a));
      db.queryCount.reset();
      // Another writer of this process (no `current`): the committed aggregate is reused, no load.
      const second = await repo.transact(contextId, (a) => a.update({ title: 'renamed' }));
      expect(db.queryCount.log.some((q) => q.includes('json_agg'))).toBe(false);
      expect(second.aggregate).toBe(first.aggregate);
      // Another process wrote: the version under the lock differs, so this one reloads.
      await repo2.transact(contextId, (a) => a.update({ title: 'someone else' }));
      db.queryCount.reset();
      const { aggregate } = await repo.transact(contextId, (a) => a.update({ title: 'mine' }), { current: second.aggregate });
      expect(db.queryCount.log.some((q) => q.includes('json_agg'))).toBe(true);
      expect(aggregate).not.toBe(first.aggregate);
      expect(aggregate.context.version).toBe(4);
      expect((await repo.load(contextId)).context.title).toBe('mine');
    } finally {
      await other.close();
    }
  });

  it('a cached aggregate answers a lookup by client id only when the lock says whether the message exists', async () => {
    const contextId = await newContext();
    await repo.transact(contextId, (a) => a.acceptUserMessage({ messageId: id('msg'), runId: id('run'), text: 'a', clientMessageId: 'client-1' }));
    // A message stored by another process with a client id this process never saw.
    const other = createPrismaClient(url);
    try {
      const repo2 = new PrismaContextRepository(other.pool, clock);
      await repo2.transact(contextId, (a) => a.acceptUserMessage({ messageId: id('msg'), runId: id('run'), text: 'b', clientMessageId: 'client-2' }));
    } finally {
      await other.close();
    }
    await repo.transact(contextId, (a) => a.update({ title: 'warm the cache again' }));
    db.queryCount.reset();
    const fresh = await repo.transact(contextId, (a) => a.messageByClientId('client-new'), { load: { clientMessageIds: ['client-new'] } });
    expect(fresh.result).toBeNull();
    expect(db.queryCount.log.some((q) => q.includes('json_agg'))).toBe(false); // not there: nothing to load
    const seen = await repo.transact(contextId, (a) => a.messageByClientId('client-2'), {
      load: { clientMessageIds: ['client-2'] },
    });
    expect(seen.result?.clientMessageId).toBe('client-2'); // found under the lock: loaded
    // The lock statement inlines the ids as escaped literals: quotes, backslashes and semicolons are just text.
    const hostile = `x'); DELETE FROM "Message"; -- \\' ;`;
    const none = await repo.transact(contextId, (a) => a.messageByClientId(hostile), { load: { clientMessageIds: [hostile] } });
    expect(none.result).toBeNull();
    expect(await db.prisma.message.count({ where: { contextId } })).toBe(2);
  });

  it('an aggregate whose save failed is not reused by the next writer', async () => {
    const contextId = await newContext();
    const first = await repo.transact(contextId, (a) => send(a));
    const lastSeq = first.aggregate.context.lastEventSeq;
    // The next event seq is taken: the next save fails after its change was applied to the cached aggregate.
    await db.prisma.event.create({ data: { contextId, seq: lastSeq + 1, type: 'context.updated', payload: { changes: {} } } });
    await expect(repo.transact(contextId, (a) => a.update({ title: 'lost' }))).rejects.toThrow();
    await db.prisma.event.delete({ where: { contextId_seq: { contextId, seq: lastSeq + 1 } } });
    const next = await repo.transact(contextId, (a) => a.update({ title: 'kept' }));
    expect(next.aggregate).not.toBe(first.aggregate);
    const row = await db.prisma.context.findUniqueOrThrow({ where: { id: contextId } });
    expect(row.title).toBe('kept');
    expect(row.lastEventSeq).toBe(lastSeq + 1);
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

  it('a checkpoint sends only the appended text, and the stored reply is exactly the streamed one', async () => {
    const contextId = await newContext();
    const { aggregate: a, result } = await repo.transact(contextId, (x) => send(x));
    const replyId = id('msg');
    let current = (await repo.transact(contextId, (x) => {
      x.claimRun(result.run.id, 'w1', new Date(Date.now() + 60_000));
      x.startReply(result.run.id, 'w1', replyId);
    }, { current: a })).aggregate;
    const early = 'E'.repeat(5000);
    current = (await repo.transact(contextId, (x) => x.checkpoint(replyId, early), { current })).aggregate;
    db.queryCount.reset();
    current = (await repo.transact(contextId, (x) => x.checkpoint(replyId, `${early} and more`), { current })).aggregate;
    const write = db.queryCount.log.find((q) => q.includes('m_append'))!;
    expect(write).toBeDefined();
    expect(db.queryCount.log.some((q) => q.includes('m_upd'))).toBe(false);
    const [row] = await db.prisma.$queryRaw<{ parts: unknown }[]>`SELECT parts FROM "Message" WHERE id = ${replyId}`;
    expect(row!.parts).toEqual([{ type: 'text', text: `${early} and more` }]);
    expect(row!.parts).toEqual(current.rows.messages.get(replyId)!.parts);
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

describe('the model history window', () => {
  it('reads only the newest part of a long branch, and the model sees exactly what the whole branch would give it', async () => {
    const contextId = await newContext();
    // 300 messages of 100 characters on one branch (each run is cancelled at once, so each send joins the path).
    const texts = Array.from({ length: 300 }, (_, i) => `${String(i).padStart(3, '0')} ${'w'.repeat(96)}`);
    const { result: last } = await repo.transact(contextId, (a) =>
      texts
        .map((t) => {
          const { message } = send(a, t);
          a.cancel();
          return message;
        })
        .at(-1)!,
    );
    const full = await repo.loadPath(contextId, last.id);
    expect(full).toHaveLength(300);
    const run = { id: 'run_none', triggerMessageId: last.id };
    // 20,000: a window of about 200 of the 300 messages.
    for (const budget of [50, 1000, 5000, 20_000]) {
      const window = await repo.loadPath(contextId, last.id, { budgetChars: budget, include: [full[10]!.id], skip: [] });
      // The newest messages up to the budget (plus the one that crossed it), and the included one.
      expect(window.length).toBeLessThanOrEqual(Math.ceil(budget / 100) + 3);
      expect(window.map((m) => m.id)).toContain(full[10]!.id);
      const fromWindow = buildModelHistory(window.filter((m) => m.id !== full[10]!.id), run, new Set(), budget);
      expect(fromWindow).toEqual(buildModelHistory(full, run, new Set(), budget));
    }
  });
});
