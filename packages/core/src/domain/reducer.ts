import type { ContextEvent } from './events.ts';
import { dateOrNull, fromIso } from './events.ts';
import type { MessagePart } from './records.ts';
import { IDLE } from './state.ts';
import type { ContextView, Touch } from './view.ts';

/**
 * How each event changes a context: the one reducer used both by the
 * aggregate (to change its rows) and by `rebuild` (to reconstruct a context
 * from its log alone). Reads like a table: one case per event type.
 */
export function applyEvent(view: ContextView | null, event: ContextEvent, touch: Touch = () => {}): ContextView {
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

  const message = (id: string) => must(view.messages.get(id), 'message', id);
  const run = (id: string) => must(view.runs.get(id), 'run', id);
  const toolCall = (id: string) => must(view.toolCalls.get(id), 'toolCall', id);

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
      must(view.branches.get(event.payload.branchId), 'branch', event.payload.branchId);
      ctx.activeBranchId = event.payload.branchId;
      break;
    case 'message.created': {
      const m = event.payload.message;
      view.messages.set(m.id, { ...m, parts: structuredClone(m.parts), attempts: [], contextId: ctx.id, createdAt: fromIso(m.createdAt) });
      touch('message', m.id, true);
      ctx.lastMessageSeq = Math.max(ctx.lastMessageSeq, m.seq);
      const branch = must(view.branches.get(m.branchId), 'branch', m.branchId);
      // A queued message is not on its branch's path yet (message.attached puts it there).
      if (m.status !== 'queued') {
        branch.headMessageId = m.id;
        touch('branch', branch.id, false);
      }
      if (m.role === 'assistant' && m.runId) {
        run(m.runId).responseMessageId = m.id;
        touch('run', m.runId, false);
      }
      break;
    }
    case 'message.checkpointed': {
      const m = message(event.payload.messageId);
      m.parts = appendText(m.parts, event.payload.offset, event.payload.text);
      touch('message', m.id, false);
      break;
    }
    case 'message.completed': {
      const m = message(event.payload.messageId);
      m.parts = structuredClone(event.payload.parts);
      m.status = 'complete';
      touch('message', m.id, false);
      break;
    }
    case 'message.attached': {
      const m = message(event.payload.messageId);
      m.parentId = event.payload.parentId;
      m.seq = event.payload.seq;
      m.status = 'complete';
      ctx.lastMessageSeq = Math.max(ctx.lastMessageSeq, m.seq);
      const branch = must(view.branches.get(m.branchId), 'branch', m.branchId);
      branch.headMessageId = m.id;
      touch('message', m.id, false);
      touch('branch', branch.id, false);
      break;
    }
    case 'message.restarted': {
      const m = message(event.payload.messageId);
      if (m.parts.length > 0) m.attempts = [...m.attempts, { attempt: event.payload.attempt - 1, parts: m.parts, status: m.status }];
      m.parts = [];
      m.status = 'streaming';
      touch('message', m.id, false);
      break;
    }
    case 'message.interrupted': {
      const m = message(event.payload.messageId);
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
      r.status = 'processing';
      r.attempt = event.payload.attempt;
      r.startedAt ??= fromIso(event.payload.startedAt);
      touch('run', r.id, false);
      break;
    }
    case 'run.status_changed': {
      const r = run(event.payload.runId);
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
      t.status = event.payload.status;
      t.decidedBy = event.payload.decidedBy;
      t.decidedAt = fromIso(event.payload.decidedAt);
      t.reason = event.payload.reason;
      touch('toolCall', t.id, false);
      break;
    }
    case 'tool.started': {
      const t = toolCall(event.payload.toolCallId);
      t.status = 'running';
      touch('toolCall', t.id, false);
      break;
    }
    case 'tool.finished': {
      const t = toolCall(event.payload.toolCallId);
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
export function appendText(parts: MessagePart[], offset: number, text: string): MessagePart[] {
  const last = parts.at(-1);
  const current = last?.type === 'text' ? last.text : '';
  const merged = current.slice(0, offset) + text;
  if (last?.type === 'text') return [...parts.slice(0, -1), { type: 'text', text: merged }];
  return [...parts, { type: 'text', text: merged }];
}

function must<T>(value: T | undefined, what: string, id: string): T {
  if (value === undefined) throw new Error(`event refers to ${what} ${id}, which is not loaded`);
  return value;
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
