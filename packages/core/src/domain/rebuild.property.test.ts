import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rebuild } from './reducer.ts';
import { diffViews } from './replay-check.ts';
import { action, apply, scriptedContext, transcriptOrderViolations } from '../testing/actions.ts';

describe('rebuild(events) equals the stored state', () => {
  it('after any sequence of actions', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 15, maxLength: 60, size: "max" }), async (actions) => {
        const { repo, next, now, tick } = await scriptedContext();
        for (const act of actions) {
          tick();
          const aggregate = await repo.load('c1');
          try {
            apply(aggregate, act, next, now());
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
