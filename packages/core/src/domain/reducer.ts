import type { ContextEvent } from './events.ts';
import { dateOrNull, fromIso } from './events.ts';
import type { MessagePart } from './records.ts';
import { IDLE } from './state.ts';
import type { ContextView, Missing, Table, Touch } from './view.ts';

/**
 * How each event changes a context: the one reducer used by the aggregate (to
 * change its rows), by `rebuild` (to reconstruct a context from its log
 * alone) and by clients (the web app applies the events it is sent to its
 * copy of `context.get`). Reads like a table: one case per event type.
 *
 * A record an event names must be in `view`, or the reducer throws. A client
 * holds a window of the context (the latest page of a transcript, the runs
 * still open): it passes `missing`, and an event about a record outside the
 * window changes what the window holds (the context, the other records) and
 * reports the record it could not change instead of throwing.
 */
export function applyEvent(view: ContextView | null, event: ContextEvent, touch: Touch = () => {}, missing?: Missing): ContextView {
  if (event.type === 'context.created') {
    const c = event.payload.context;
    touch('context', c.id, true);
    return {
      context: {
        ...c,
        createdAt: fromIso(c.createdAt),
        activeBranchId: null,
        state: IDLE,
        activeRunId: null,
        version: 0,
        lastEventSeq: event.seq,
        lastMessageSeq: 0,
        lastError: null,
        updatedAt: event.createdAt,
        deletedAt: null,
      },
      branches: new Map(),
      messages: new Map(),
      runs: new Map(),
      toolCalls: new Map(),
    };
  }
  if (!view) throw new Error(`event ${event.type} before context.created`);
  const ctx = view.context;
  ctx.lastEventSeq = event.seq;
  ctx.updatedAt = event.createdAt;
  touch('context', ctx.id, false);

  const find = <T>(rows: Map<string, T>, table: Exclude<Table, 'context'>, id: string): T | undefined => {
    const row = rows.get(id);
    if (row !== undefined) return row;
    if (!missing) throw new Error(`event refers to ${table} ${id}, which is not loaded`);
    missing(table, id);
    return undefined;
  };
  const message = (id: string) => find(view.messages, 'message', id);
  const branch = (id: string) => find(view.branches, 'branch', id);
  const run = (id: string) => find(view.runs, 'run', id);
  const toolCall = (id: string) => find(view.toolCalls, 'toolCall', id);

  switch (event.type) {
    case 'context.updated':
      Object.assign(ctx, event.payload.changes);
      break;
    case 'context.deleted':
      ctx.deletedAt = fromIso(event.payload.deletedAt);
      break;
    case 'branch.created': {
      const b = event.payload.branch;
      view.branches.set(b.id, { ...b, contextId: ctx.id, createdAt: fromIso(b.createdAt) });
      touch('branch', b.id, true);
      if (ctx.activeBranchId === null) ctx.activeBranchId = b.id;
      break;
    }
    case 'branch.switched':
      if (branch(event.payload.branchId)) ctx.activeBranchId = event.payload.branchId;
      break;
    case 'message.created': {
      const m = event.payload.message;
      view.messages.set(m.id, { ...m, parts: structuredClone(m.parts), attempts: [], contextId: ctx.id, createdAt: fromIso(m.createdAt) });
      touch('message', m.id, true);
      ctx.lastMessageSeq = Math.max(ctx.lastMessageSeq, m.seq);
      const b = branch(m.branchId);
      // A queued message is not on its branch's path yet (message.attached puts it there).
      if (b && m.status !== 'queued') {
        b.headMessageId = m.id;
        touch('branch', b.id, false);
      }
      const r = m.role === 'assistant' && m.runId ? run(m.runId) : undefined;
      if (r) {
        r.responseMessageId = m.id;
        touch('run', r.id, false);
      }
      break;
    }
    case 'message.checkpointed': {
      const m = message(event.payload.messageId);
      if (!m) break;
      m.parts = appendText(m.parts, event.payload.offset, event.payload.text);
      touch('message', m.id, false);
      break;
    }
    case 'message.completed': {
      const m = message(event.payload.messageId);
      if (!m) break;
      m.parts = structuredClone(event.payload.parts);
      m.status = 'complete';
      touch('message', m.id, false);
      break;
    }
    case 'message.attached': {
      ctx.lastMessageSeq = Math.max(ctx.lastMessageSeq, event.payload.seq);
      const m = message(event.payload.messageId);
      if (!m) break;
      m.parentId = event.payload.parentId;
      m.seq = event.payload.seq;
      m.status = 'complete';
      touch('message', m.id, false);
      const b = branch(m.branchId);
      if (b) {
        b.headMessageId = m.id;
        touch('branch', b.id, false);
      }
      break;
    }
    case 'message.restarted': {
      const m = message(event.payload.messageId);
      if (!m) break;
      if (m.parts.length > 0) m.attempts = [...m.attempts, { attempt: event.payload.attempt - 1, parts: m.parts, status: m.status }];
      m.parts = [];
      m.status = 'streaming';
      touch('message', m.id, false);
      break;
    }
    case 'message.interrupted': {
      const m = message(event.payload.messageId);
      if (!m) break;
      m.status = event.payload.status;
      touch('message', m.id, false);
      break;
    }
    case 'run.queued': {
      const r = event.payload.run;
      view.runs.set(r.id, {
        ...r,
        contextId: ctx.id,
        createdAt: fromIso(r.createdAt),
        responseMessageId: null,
        status: 'pending',
        attempt: 1,
        error: null,
        leaseOwner: null,
        leaseExpiresAt: null,
        startedAt: null,
        completedAt: null,
      });
      touch('run', r.id, true);
      break;
    }
    case 'run.started': {
      const r = run(event.payload.runId);
      if (!r) break;
      r.status = 'processing';
      r.attempt = event.payload.attempt;
      r.startedAt ??= fromIso(event.payload.startedAt);
      touch('run', r.id, false);
      break;
    }
    case 'run.status_changed': {
      const r = run(event.payload.runId);
      if (!r) break;
      r.status = event.payload.status;
      if (event.payload.attempt !== undefined) r.attempt = event.payload.attempt;
      touch('run', r.id, false);
      break;
    }
    case 'run.completed':
    case 'run.failed':
    case 'run.cancelled':
    case 'run.interrupted': {
      const r = run(event.payload.runId);
      if (!r) break;
      r.status = FINAL_STATUS[event.type];
      r.completedAt = fromIso(event.payload.completedAt);
      if ('error' in event.payload) r.error = event.payload.error;
      touch('run', r.id, false);
      break;
    }
    case 'tool.requested': {
      const t = event.payload.toolCall;
      view.toolCalls.set(t.id, {
        ...t,
        createdAt: fromIso(t.createdAt),
        decidedAt: dateOrNull(t.decidedAt),
      });
      touch('toolCall', t.id, true);
      break;
    }
    case 'tool.decided': {
      const t = toolCall(event.payload.toolCallId);
      if (!t) break;
      t.status = event.payload.status;
      t.decidedBy = event.payload.decidedBy;
      t.decidedAt = fromIso(event.payload.decidedAt);
      t.reason = event.payload.reason;
      touch('toolCall', t.id, false);
      break;
    }
    case 'tool.started': {
      const t = toolCall(event.payload.toolCallId);
      if (!t) break;
      t.status = 'running';
      touch('toolCall', t.id, false);
      break;
    }
    case 'tool.finished': {
      const t = toolCall(event.payload.toolCallId);
      if (!t) break;
      t.status = event.payload.status;
      t.result = event.payload.result;
      touch('toolCall', t.id, false);
      break;
    }
    default:
      return assertNever(event);
  }
  return view;
}

const FINAL_STATUS = {
  'run.completed': 'completed',
  'run.failed': 'error',
  'run.cancelled': 'cancelled',
  'run.interrupted': 'interrupted',
} as const;

/** Appends at `offset`; a checkpoint is idempotent because it names where it starts. */
/**
 * Writes `chunk` at `offset` of `current`. Returns null when it does not fit
 * (a gap: offset beyond the text) and `current` itself when the text already
 * holds the chunk (a replayed delta, or a checkpoint behind the deltas a
 * client has already shown), so text never goes backwards.
 */
export function mergeAt(current: string, offset: number, chunk: string): string | null {
  if (offset > current.length) return null;
  const merged = current.slice(0, offset) + chunk;
  return current.startsWith(merged) ? current : merged;
}

export function appendText(parts: MessagePart[], offset: number, text: string): MessagePart[] {
  const last = parts.at(-1);
  const current = last?.type === 'text' ? last.text : '';
  // A gap cannot happen in the log (checkpoints are written in order); the text is appended as before.
  const merged = mergeAt(current, offset, text) ?? current + text;
  if (merged === current && last?.type === 'text') return parts;
  if (last?.type === 'text') return [...parts.slice(0, -1), { type: 'text', text: merged }];
  return [...parts, { type: 'text', text: merged }];
}

function assertNever(x: never): never {
  throw new Error(`unknown event ${JSON.stringify(x)}`);
}

/** Reconstructs a context from its event log alone (DESIGN §8). */
export function rebuild(events: readonly ContextEvent[]): ContextView {
  let view: ContextView | null = null;
  for (const event of [...events].sort((a, b) => a.seq - b.seq)) view = applyEvent(view, event);
  if (!view) throw new Error('no events');
  return view;
}

/** The events that end a run (each sets the run's final status above). */
export const isRunEndEvent = (type: ContextEvent['type']): boolean => Object.hasOwn(FINAL_STATUS, type);
