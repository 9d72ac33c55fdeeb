import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ContextAggregate } from './aggregate.ts';
import { rebuild } from './reducer.ts';
import { diffViews } from './replay-check.ts';
import { MemoryRepository } from '../testing/memory.ts';
import { action, apply, transcriptOrderViolations } from '../testing/actions.ts';

describe('rebuild(events) equals the stored state', () => {
  it('after any sequence of actions', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 15, maxLength: 60, size: "max" }), async (actions) => {
        let t = Date.parse('2026-01-01T00:00:00Z');
        const clock = () => new Date(t);
        let n = 0;
        const next = () => `id${++n}`;
        const repo = new MemoryRepository(clock);
        await repo.save(
          ContextAggregate.create(
            { id: 'c1', ownerId: 'o', title: 't', model: 'local:scripted', mode: 'chat', systemPrompt: null, busyPolicy: 'queue', mainBranchId: 'b1' },
            clock,
          ),
        );
        for (const act of actions) {
          t += 1000;
          const aggregate = await repo.load('c1');
          try {
            apply(aggregate, act, next, clock());
          } catch {
            continue; // an action the state does not allow: nothing is saved
          }
          await repo.save(aggregate);
          const stored = repo.views.get('c1')!;
          const rebuilt = rebuild(repo.events.get('c1')!);
          expect(diffViews(stored, rebuilt)).toEqual([]);
          expect(transcriptOrderViolations(stored)).toEqual([]);
          // Invariants the FSM promises: the active run is the one the state names, at most one.
          const active = [...stored.runs.values()].filter((r) => r.status === 'processing' || r.status === 'awaiting_approval');
          expect(active.length).toBeLessThanOrEqual(1);
          if (active[0]) expect(stored.context.activeRunId).toBe(active[0].id);
          const seqs = (repo.events.get('c1') ?? []).map((e) => e.seq);
          expect(seqs).toEqual(seqs.map((_, i) => i + 1));
        }
      }),
      { numRuns: 200 },
    );
  });
});
