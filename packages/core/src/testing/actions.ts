/**
 * Random action sequences over one context, for the property tests of
 * rebuild(events) == stored state: against the in-memory repository
 * (rebuild.property.test.ts) and the Prisma one on a real database
 * (tests/replay/prisma-property.test.ts). `apply` throws when the state does
 * not allow the action; then nothing is saved.
 */
import fc from 'fast-check';
import { ContextAggregate } from '../domain/aggregate.ts';
import { textOf, type MessageRecord } from '../domain/records.ts';
import type { ContextView } from '../domain/view.ts';
import { MemoryRepository } from './memory.ts';

export type Action =
  | { type: 'send'; text: string; edit: boolean }
  | { type: 'claim' }
  | { type: 'reply' }
  | { type: 'checkpoint'; chars: number }
  | { type: 'complete'; tools: ('required' | 'auto' | 'invalid')[] }
  | { type: 'decide'; approve: boolean; all: boolean }
  | { type: 'runTools'; ok: boolean }
  | { type: 'cancel' }
  | { type: 'fail' }
  | { type: 'recover'; maxAttempts: number }
  | { type: 'expire' }
  | { type: 'rename'; title: string }
  | { type: 'regenerate' }
  | { type: 'switch' }
  | { type: 'flushCancelled' }
  /** The next natural step of the active run, so long happy paths are common too. */
  | { type: 'step'; tools: ('required' | 'auto' | 'invalid')[]; ok: boolean; approve: boolean };

const tools = fc.array(fc.constantFrom('required' as const, 'auto' as const, 'invalid' as const), { maxLength: 3 });
const step = fc.record({ type: fc.constant('step' as const), tools, ok: fc.boolean(), approve: fc.boolean() });
export const action: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: step, weight: 12 },
  fc.record({ type: fc.constant('send' as const), text: fc.string({ minLength: 1, maxLength: 12 }), edit: fc.boolean() }),
  fc.constant({ type: 'claim' as const }),
  fc.constant({ type: 'reply' as const }),
  fc.record({ type: fc.constant('checkpoint' as const), chars: fc.integer({ min: 0, max: 8 }) }),
  fc.record({
    type: fc.constant('complete' as const),
    tools: fc.array(fc.constantFrom('required' as const, 'auto' as const, 'invalid' as const), { maxLength: 3 }),
  }),
  fc.record({ type: fc.constant('decide' as const), approve: fc.boolean(), all: fc.boolean() }),
  fc.record({ type: fc.constant('runTools' as const), ok: fc.boolean() }),
  fc.constant({ type: 'cancel' as const }),
  fc.constant({ type: 'fail' as const }),
  fc.record({ type: fc.constant('recover' as const), maxAttempts: fc.integer({ min: 1, max: 3 }) }),
  fc.constant({ type: 'expire' as const }),
  fc.record({ type: fc.constant('rename' as const), title: fc.string({ maxLength: 10 }) }),
  fc.constant({ type: 'regenerate' as const }),
  fc.constant({ type: 'switch' as const }),
  fc.constant({ type: 'flushCancelled' as const }),
);

export const OWNER = 'worker-1';

export function apply(a: ContextAggregate, act: Action, next: () => string, now: Date) {
  const run = a.activeRun;
  const streaming = run ? a.messagesOf(run.id).find((m) => m.status === 'streaming') : undefined;
  switch (act.type) {
    case 'send': {
      const users = [...a.rows.messages.values()].filter((m) => m.role === 'user');
      a.acceptUserMessage({
        messageId: next(),
        runId: next(),
        text: act.text,
        clientMessageId: next(),
        editOfMessageId: act.edit ? users.at(-1)?.id : undefined,
        newBranchId: next(),
      });
      return;
    }
    case 'claim':
      if (run) a.claimRun(run.id, OWNER, new Date(now.getTime() + 1000));
      return;
    case 'reply':
      if (run && !streaming) a.startReply(run.id, OWNER, next());
      return;
    case 'checkpoint':
      if (streaming) a.checkpoint(streaming.id, textOf(streaming.parts) + 'x'.repeat(act.chars));
      return;
    case 'complete':
      if (run && streaming) {
        a.completeReply(run.id, OWNER, streaming.id, {
          text: textOf(streaming.parts) + ' done',
          toolCalls: act.tools.map((approval) => ({ id: next(), name: 'save_note', args: { n: 1 }, argsHash: 'h', approval })),
        });
      }
      return;
    case 'decide': {
      const state = a.state;
      if (state.type !== 'AwaitingToolApproval') return;
      const calls = act.all ? state.pendingToolCalls : state.pendingToolCalls.slice(0, 1);
      a.decideTools(state.runId, calls.map((c) => ({ toolCallId: c.id, approve: act.approve })), 'user');
      return;
    }
    case 'runTools':
      if (!run) return;
      for (const call of a.unsentToolCalls(run.id)) {
        if (a.claimTool(run.id, OWNER, call.id)) a.finishTool(run.id, OWNER, call.id, { ok: act.ok, result: { ok: act.ok } });
      }
      a.completeToolStep(run.id, OWNER, next());
      return;
    case 'cancel':
      a.cancel();
      return;
    case 'fail':
      if (run) a.fail(run.id, 'boom');
      return;
    case 'recover':
      if (run) a.recover(run.id, act.maxAttempts);
      return;
    case 'expire':
      a.expireApprovals(0);
      return;
    case 'rename':
      a.update({ title: act.title });
      return;
    case 'regenerate': {
      const reply = [...a.rows.messages.values()].filter((m) => m.role === 'assistant' && m.status !== 'streaming').at(-1);
      if (reply) a.regenerate({ messageId: reply.id, runId: next(), newBranchId: next() });
      return;
    }
    case 'switch': {
      const branches = [...a.rows.branches.keys()];
      a.switchBranch(branches[0]!);
      return;
    }
    case 'step': {
      const state = a.state;
      if (!run) return;
      if (run.leaseOwner === null && run.status !== 'awaiting_approval') return void a.claimRun(run.id, OWNER, new Date(now.getTime() + 1000));
      if (state.type === 'AwaitingToolApproval') {
        return a.decideTools(state.runId, state.pendingToolCalls.map((c) => ({ toolCallId: c.id, approve: act.approve })), 'user');
      }
      if (state.type === 'ExecutingTools') return apply(a, { type: 'runTools', ok: act.ok }, next, now);
      if (!streaming) return void a.startReply(run.id, OWNER, next());
      if (textOf(streaming.parts).length < 6) return a.checkpoint(streaming.id, textOf(streaming.parts) + 'abc');
      const ownMessages = a.messagesOf(run.id).filter((m) => m.role === 'assistant').length;
      return apply(a, { type: 'complete', tools: ownMessages > 2 ? [] : act.tools }, next, now);
    }
    case 'flushCancelled': {
      const cancelled = [...a.rows.messages.values()].find((m) => m.status === 'cancelled');
      if (cancelled?.runId) a.flushCancelledText(cancelled.runId, cancelled.id, textOf(cancelled.parts) + 'z');
      return;
    }
  }
}

/**
 * The transcript-order invariant, on every branch: walking a branch from its
 * head to the root, each reply (a message of a run that is not its question)
 * comes right after its run's question or after an earlier part of an answer
 * to that question (its own run's, or, after a regenerate of a later step,
 * the run it forked from); a queued question is on no path; no message is met twice.
 */
export function transcriptOrderViolations(view: ContextView): string[] {
  const problems: string[] = [];
  for (const branch of view.branches.values()) {
    const path: MessageRecord[] = [];
    const seen = new Set<string>();
    for (let id = branch.headMessageId; id; ) {
      const m = view.messages.get(id);
      if (!m) {
        problems.push(`branch ${branch.id}: ${id} is missing`);
        break;
      }
      if (seen.has(id)) {
        problems.push(`branch ${branch.id}: ${id} twice (a cycle)`);
        break;
      }
      seen.add(id);
      path.unshift(m);
      id = m.parentId;
    }
    path.forEach((m, i) => {
      if (m.status === 'queued') problems.push(`branch ${branch.id}: queued ${m.id} is on the path`);
      const run = m.runId ? view.runs.get(m.runId) : undefined;
      if (!run || run.triggerMessageId === m.id || m.role === 'user') return;
      const prev = path[i - 1];
      const prevRun = prev?.runId ? view.runs.get(prev.runId) : undefined;
      // After the question, or after an earlier part of an answer to it (this run's, or the run a regenerate of a later step forked from).
      if (!prev || (prev.id !== run.triggerMessageId && prevRun?.triggerMessageId !== run.triggerMessageId)) {
        problems.push(`branch ${branch.id}: ${m.role} ${m.id} of run ${run.id} follows ${prev?.id ?? 'nothing'}, not its question ${run.triggerMessageId}`);
      }
    });
  }
  return problems;
}

/** A context in a memory repository, with a clock a test moves on and an id counter (the property tests' start). */
export async function scriptedContext() {
  const clock = { t: Date.parse('2026-01-01T00:00:00Z') };
  const now = () => new Date(clock.t);
  let n = 0;
  const next = () => `id${++n}`;
  const repo = new MemoryRepository(now);
  await repo.save(
    ContextAggregate.create(
      { id: 'c1', ownerId: 'o', title: 't', model: 'local:scripted', mode: 'chat', systemPrompt: null, busyPolicy: 'queue', mainBranchId: 'b1' },
      now,
    ),
  );
  return { repo, next, now, tick: () => (clock.t += 1000) };
}
