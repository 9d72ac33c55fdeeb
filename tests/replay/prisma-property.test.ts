import { ContextAggregate, diffViews, rebuild, type ContextView } from '@chat/core';
import { createPrismaClient, PrismaContextRepository, ReadModels } from '@chat/db';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { action, apply, transcriptOrderViolations, type Action } from '../../packages/core/src/testing/actions.ts';
import { segmentsOf } from '../../packages/db/src/branch-lineage.ts';
import { createTestDatabase } from '../support/database.ts';

/**
 * The property of packages/core/src/rebuild.property.test.ts (random action
 * sequences: sends while busy, edits, regenerates, cancels, approvals, tool
 * runs, failures, crash recoveries), here through the Prisma repository on a
 * real PostgreSQL: after every saved action the rows read back equal
 * rebuild(events read back), the transcript is in order on every branch, and
 * the log's seqs have no gap; and the transcript reads return every branch's
 * parent chain, whole and in pages, as does the model's history read.
 */
let db: ReturnType<typeof createPrismaClient>;
let repo: PrismaContextRepository;
let reads: ReadModels;
let t = Date.parse('2026-01-01T00:00:00Z');
const clock = () => new Date(t);

beforeAll(async () => {
  db = createPrismaClient(await createTestDatabase());
  repo = new PrismaContextRepository(db.pool, clock);
  reads = new ReadModels(db.prisma, db.pool);
});
afterAll(() => db?.close());

async function storedView(contextId: string): Promise<ContextView> {
  const stored = (await reads.storedRows(contextId))!;
  return {
    context: stored.context,
    branches: new Map(stored.branches.map((b) => [b.id, b])),
    messages: new Map(stored.messages.map((m) => [m.id, m])),
    runs: new Map(stored.runs.map((r) => [r.id, r])),
    toolCalls: new Map(stored.toolCalls.map((c) => [c.id, c])),
  };
}

/** The path of a branch as its parent chain from the head, oldest first. */
function walk(view: ContextView, headMessageId: string | null): string[] {
  const ids: string[] = [];
  for (let id = headMessageId; id; id = view.messages.get(id)?.parentId ?? null) ids.unshift(id);
  return ids;
}

/**
 * What context.get and context.messages read (lineage segments as range reads) is
 * every branch's parent chain, in order, whole and page by page, then its queue.
 */
async function expectPagesFollowTheParentChain(contextId: string, view: ContextView) {
  const tree = await reads.branchTree(contextId);
  for (const branch of view.branches.values()) {
    const path = walk(view, branch.headMessageId);
    const queued = [...view.messages.values()].filter((m) => m.branchId === branch.id && m.status === 'queued').sort((a, b) => a.seq - b.seq).map((m) => m.id);
    const whole = await reads.branchMessages(contextId, tree, branch.id, 10_000);
    expect(whole.items.map((m) => m.id), `branch ${branch.id}`).toEqual([...path, ...queued]);
    expect(whole.nextCursor).toBeNull();
    const paged: string[] = [];
    let page = await reads.branchMessages(contextId, tree, branch.id, 2);
    const newestQueued = page.items.filter((m) => m.status === 'queued').map((m) => m.id);
    expect(newestQueued).toEqual(queued);
    paged.unshift(...page.items.filter((m) => m.status !== 'queued').map((m) => m.id));
    while (page.nextCursor !== null) {
      page = await reads.branchMessages(contextId, tree, branch.id, 2, page.nextCursor);
      paged.unshift(...page.items.map((m) => m.id));
    }
    expect(paged, `branch ${branch.id}, pages of 2`).toEqual(path);
  }
}

/**
 * The model's history read (repository.loadPath) is the parent chain
 * from every message on a branch's path: whole, and with a window its newest part up to the budget.
 */
async function expectHistoryFollowsTheParentChain(contextId: string, view: ContextView) {
  const heads = new Set<string>();
  for (const branch of view.branches.values()) {
    const path = walk(view, branch.headMessageId);
    for (const id of path.slice(-2)) heads.add(id);
  }
  for (const head of heads) {
    const path = walk(view, head);
    expect((await repo.loadPath(contextId, head)).map((m) => m.id), `path to ${head}`).toEqual(path);
    // A budget of one character: the head and the message before it (the one that crosses the budget),
    // then on through the messages the model is not sent.
    const seen = (id: string) => {
      const m = view.messages.get(id)!;
      return m.role === 'system' || m.status === 'interrupted' || m.status === 'error' ? 0 : m.parts.reduce((n, part) => n + ('text' in part ? [...String(part.text)].length : 0), 0);
    };
    const expected: string[] = [];
    let used = 0;
    for (let i = path.length - 1; i >= 0 && used < 1; i--) {
      expected.unshift(path[i]!);
      if (i < path.length - 1) used += seen(path[i]!);
    }
    const windowed = await repo.loadPath(contextId, head, { budgetChars: 1, include: [path[0]!], skip: [] });
    expect(windowed.map((m) => m.id), `window of 1 to ${head}`).toEqual([...new Set([path[0]!, ...expected])]);
  }
}

let contexts = 0;

describe('rebuild(events) equals the rows stored through the Prisma repository', () => {
  it('after any sequence of actions, with the transcript in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 15, maxLength: 50, size: 'max' }), async (actions) => {
        const run = ++contexts;
        let n = 0;
        const next = () => `p${run}x${++n}`;
        const contextId = `ctx-prop-${run}`;
        await repo.save(
          ContextAggregate.create(
            { id: contextId, ownerId: 'property-owner', title: 't', model: 'local:scripted', mode: 'chat', systemPrompt: null, busyPolicy: 'queue', mainBranchId: next() },
            clock,
          ),
        );
        for (const act of actions) {
          t += 1000;
          const aggregate = await repo.load(contextId);
          try {
            apply(aggregate, act, next, clock());
          } catch {
            continue; // an action the state does not allow: nothing is saved
          }
          await repo.save(aggregate);
          const stored = await storedView(contextId);
          const events = await reads.allEvents(contextId);
          expect(diffViews(stored, rebuild(events)), JSON.stringify(act)).toEqual([]);
          expect(transcriptOrderViolations(stored)).toEqual([]);
          await expectPagesFollowTheParentChain(contextId, stored);
          await expectHistoryFollowsTheParentChain(contextId, stored);
          expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
          const active = [...stored.runs.values()].filter((r) => r.status === 'processing' || r.status === 'awaiting_approval');
          expect(active.length).toBeLessThanOrEqual(1);
          if (active[0]) expect(stored.context.activeRunId).toBe(active[0].id);
        }
      }),
      { numRuns: 40 },
    );
  }, 240_000);

  it('pages a lineage deeper than one round trip of segments (a reply regenerated after each new question)', async () => {
    let n = 0;
    const next = () => `deep${++n}`;
    const contextId = 'ctx-prop-deep';
    // One aggregate saved after every action (as a writer reuses its own): it holds every row, so the
    // regenerate finds the newest reply.
    const aggregate = ContextAggregate.create(
      { id: contextId, ownerId: 'property-owner', title: 't', model: 'local:scripted', mode: 'chat', systemPrompt: null, busyPolicy: 'queue', mainBranchId: next() },
      clock,
    );
    await repo.save(aggregate);
    const answer: Action[] = [{ type: 'claim' }, { type: 'reply' }, { type: 'complete', tools: [] }];
    const round: Action[] = [{ type: 'send', text: 'q', edit: false }, ...answer, { type: 'regenerate' }, ...answer];
    // Each round forks a new branch at the newest reply, below the question asked on the previous branch.
    for (let i = 0; i < 40; i++) {
      for (const act of round) {
        t += 1000;
        apply(aggregate, act, next, clock());
        await repo.save(aggregate);
      }
    }
    const stored = await storedView(contextId);
    expect(stored.branches.size).toBe(41);
    const tree = await reads.branchTree(contextId);
    const active = stored.context.activeBranchId!;
    expect(segmentsOf(tree, active)).toHaveLength(41);
    expect(walk(stored, stored.branches.get(active)!.headMessageId)).toHaveLength(80);
    await expectPagesFollowTheParentChain(contextId, stored);
    await expectHistoryFollowsTheParentChain(contextId, stored);
  }, 120_000);
});
