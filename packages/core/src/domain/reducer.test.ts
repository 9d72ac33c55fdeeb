import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { appendText, applyEvent, mergeAt } from './reducer.ts';
import type { ContextEvent } from './events.ts';
import { diffViews } from './replay-check.ts';
import type { ContextView, Table } from './view.ts';
import { action, apply, scriptedContext } from '../testing/actions.ts';

describe('mergeAt and appendText', () => {
  it('appends, keeps text that already holds the chunk, refuses gaps', () => {
    expect(mergeAt('Hello', 5, ' world')).toBe('Hello world');
    expect(mergeAt('Hello world', 5, ' world')).toBe('Hello world');
    expect(mergeAt('Hello world', 0, 'Hello')).toBe('Hello world');
    expect(mergeAt('Hello', 2, 'y')).toBe('Hey');
    expect(mergeAt('Hello', 6, 'x')).toBeNull();
    const parts = [{ type: 'text' as const, text: 'Hello world' }];
    expect(appendText(parts, 0, 'Hello')).toBe(parts);
    expect(appendText(parts, 11, '!')).toEqual([{ type: 'text', text: 'Hello world!' }]);
  });
});

describe('applyEvent on a window of the context (what a client holds)', () => {
  it('throws on a record it does not hold unless told what to do, then reports it and changes the rest', () => {
    const view: ContextView = {
      context: {
        id: 'c1', ownerId: 'o', title: 't', model: 'local', mode: 'chat', systemPrompt: null, busyPolicy: 'queue',
        activeBranchId: 'b1', state: { type: 'Idle' }, activeRunId: null, version: 1, lastEventSeq: 4, lastMessageSeq: 2,
        lastError: null, createdAt: new Date(0), updatedAt: new Date(0), deletedAt: null,
      },
      branches: new Map(), messages: new Map(), runs: new Map(), toolCalls: new Map(),
    };
    const event: ContextEvent = { contextId: 'c1', seq: 5, type: 'message.completed', payload: { messageId: 'm9', parts: [] }, createdAt: new Date(1) };
    expect(() => applyEvent(structuredClone(view), event)).toThrow(/message m9/);
    const missing: [Table, string][] = [];
    const after = applyEvent(structuredClone(view), event, () => {}, (table, id) => missing.push([table, id]));
    expect(missing).toEqual([['message', 'm9']]);
    expect(after.context.lastEventSeq).toBe(5);
  });

  it('folding the later events into any window leaves every row it holds equal to the stored row', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(action, { minLength: 10, maxLength: 40, size: 'max' }),
        fc.nat(),
        fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
        async (actions, cut, keep) => {
          const { repo, next, now, tick } = await scriptedContext();
          const at = cut % actions.length;
          let window: ContextView | null = null;
          for (const [i, act] of actions.entries()) {
            if (i === at) window = structuredClone(repo.views.get('c1')!);
            tick();
            const aggregate = await repo.load('c1');
            try {
              apply(aggregate, act, next, now());
            } catch {
              continue;
            }
            await repo.save(aggregate);
          }
          // The client's window: some of the rows, chosen at random.
          let k = 0;
          for (const rows of [window!.messages, window!.runs, window!.toolCalls] as Map<string, unknown>[]) {
            // A queued question is always held (context.get lists it; message.attached names no branch, so a window without it could not move the head).
            for (const [id, row] of [...rows]) if (!keep[k++ % keep.length] && (row as { status?: string }).status !== 'queued') rows.delete(id);
          }
          const events = repo.events.get('c1')!.filter((e) => e.seq > window!.context.lastEventSeq);
          let view = window!;
          for (const event of events) view = applyEvent(view, event, () => {}, () => {});

          // The stored rows the window holds (leases, version and updatedAt are not in the log).
          const stored = repo.views.get('c1')!;
          const only = <T>(rows: Map<string, T>, held: Map<string, unknown>) => new Map([...rows].filter(([id]) => held.has(id)));
          const storedWindow: ContextView = {
            context: stored.context,
            branches: only(stored.branches, view.branches),
            messages: only(stored.messages, view.messages),
            runs: only(stored.runs, view.runs),
            toolCalls: only(stored.toolCalls, view.toolCalls),
          };
          expect(diffViews(storedWindow, view)).toEqual([]);
          expect(view.branches.size).toBe(stored.branches.size);
        },
      ),
      { numRuns: 150 },
    );
  });
});
