import type { Branch, ChatMessage, ContextDetail, MessagePart, StreamItem, ToolCall } from './types';

/**
 * Pure updates of the cached `context.get` result.
 *
 * The server is the truth; this file only makes its pushed events visible at
 * once. Persisted events are applied at most once, by seq: the cache remembers
 * the last seq it contains (`context.lastEventSeq`) and ignores anything at or
 * below it. Ephemeral deltas carry an offset and are applied only where they
 * fit, so a repeated or late delta never duplicates text. Events whose effect
 * is not fully described by their payload (runs, branches, tools, state) ask
 * for a refetch of `context.get`, debounced by the caller.
 */

export type PersistedItem = Extract<StreamItem, { kind: 'event' }>;

export interface ApplyResult {
  detail: ContextDetail;
  /** The server's view should be refetched (debounced) to pick up derived data. */
  refetch: boolean;
  /** The sidebar list (titles, order) changed. */
  listChanged: boolean;
}

export const OPTIMISTIC_PREFIX = 'optimistic:';

export const isOptimistic = (message: Pick<ChatMessage, 'id'>) => message.id.startsWith(OPTIMISTIC_PREFIX);

/** The seq of the newest persisted event the cached value includes. */
export function appliedSeq(detail: ContextDetail): number {
  return Math.max(detail.context.lastEventSeq, detail.state.lastEventSeq);
}

export function textOfParts(parts: readonly MessagePart[]): string {
  return parts.map((p) => (p.type === 'text' ? p.text : '')).join('');
}

/** Replaces the trailing text part (a streaming reply's text lives there). */
export function withText(parts: readonly MessagePart[], text: string): MessagePart[] {
  const last = parts.at(-1);
  if (last?.type === 'text') return [...parts.slice(0, -1), { type: 'text', text }];
  return [...parts, { type: 'text', text }];
}

/**
 * Writes `chunk` at `offset` of `current`. Returns null when it does not fit
 * (a gap: offset beyond the text) and `current` itself when the text already
 * holds the chunk (a replayed delta or a checkpoint behind later deltas).
 */
export function mergeAt(current: string, offset: number, chunk: string): string | null {
  if (offset > current.length) return null;
  const merged = current.slice(0, offset) + chunk;
  return current.startsWith(merged) ? current : merged;
}

/** Transcript order: the path by seq, then the questions still queued (they join the path when their run starts). */
const sortBySeq = (messages: ChatMessage[]) =>
  [...messages].sort((a, b) => Number(a.status === 'queued') - Number(b.status === 'queued') || a.seq - b.seq);

function updateMessage(
  detail: ContextDetail,
  messageId: string,
  fn: (message: ChatMessage) => ChatMessage,
): ContextDetail {
  const index = detail.messages.findIndex((m) => m.id === messageId);
  if (index < 0) return detail;
  const before = detail.messages[index]!;
  const after = fn(before);
  if (after === before) return detail;
  const messages = detail.messages.slice();
  messages[index] = after;
  return { ...detail, messages };
}

function updateToolCall(detail: ContextDetail, toolCallId: string, fn: (call: ToolCall) => ToolCall): ContextDetail {
  const index = detail.toolCalls.findIndex((t) => t.id === toolCallId);
  if (index < 0) return detail;
  const toolCalls = detail.toolCalls.slice();
  toolCalls[index] = fn(detail.toolCalls[index]!);
  return { ...detail, toolCalls };
}

function withSeq(detail: ContextDetail, seq: number): ContextDetail {
  return {
    ...detail,
    context: { ...detail.context, lastEventSeq: seq },
    state: { ...detail.state, lastEventSeq: seq },
  };
}

const date = (iso: string | null | undefined) => (iso ? new Date(iso) : null);

/** Applies one item of `events.onContext` to the cached `context.get` result. */
export function applyStreamItem(detail: ContextDetail, item: StreamItem): ApplyResult {
  const result = (next: ContextDetail, refetch = false, listChanged = false): ApplyResult => ({
    detail: next,
    refetch,
    listChanged,
  });

  if (item.kind === 'ephemeral') {
    if (item.type === 'message.delta') {
      const { messageId, offset, text } = item.payload;
      let known = false;
      const next = updateMessage(detail, messageId, (m) => {
        known = true;
        if (m.status !== 'streaming') return m;
        const current = textOfParts(m.parts);
        const merged = mergeAt(current, offset, text);
        return merged === null || merged === current ? m : { ...m, parts: withText(m.parts, merged) };
      });
      // A delta for a reply we do not have yet: its message.created is missing here.
      return result(next, !known);
    }
    // The server's state instead of its log (we were too far behind): load it again.
    if (item.type === 'context.snapshot') return result(detail, item.afterSeq > appliedSeq(detail));
    const { messageId, text, status } = item.payload;
    let known = false;
    const next = updateMessage(detail, messageId, (m) => {
      known = true;
      if (m.status !== 'streaming') return m;
      const current = textOfParts(m.parts);
      if (current === text && m.status === status) return m;
      return { ...m, status, parts: withText(m.parts, text) };
    });
    return result(next, !known);
  }

  if (item.seq <= appliedSeq(detail)) return result(detail);
  let next = withSeq(detail, item.seq);

  switch (item.type) {
    case 'message.created': {
      const m = item.payload.message;
      // The message is the new head of its branch (a later switch to that branch relies on it); a queued one is not yet.
      if (m.status !== 'queued') next = withBranchHead(next, m.branchId, m.id);
      if (detail.branch && m.branchId !== detail.branch.id) return result(next, true, true);
      const message: ChatMessage = {
        attempts: [],
        ...m,
        contextId: detail.context.id,
        createdAt: new Date(m.createdAt),
      };
      const others = next.messages.filter(
        (x) => x.id !== m.id && !(m.clientMessageId && isOptimistic(x) && x.clientMessageId === m.clientMessageId),
      );
      next = { ...next, messages: sortBySeq([...others, message]) };
      return result(next, m.role === 'tool', m.role === 'user');
    }
    case 'message.checkpointed': {
      const { messageId, offset, text } = item.payload;
      let fits = true;
      next = updateMessage(next, messageId, (m) => {
        const current = textOfParts(m.parts);
        const merged = mergeAt(current, offset, text);
        if (merged === null) fits = false;
        return merged === null || merged === current ? m : { ...m, parts: withText(m.parts, merged) };
      });
      return result(next, !fits);
    }
    case 'message.completed': {
      const { messageId, parts } = item.payload;
      next = updateMessage(next, messageId, (m) => ({ ...m, parts, status: 'complete' }));
      return result(next, true);
    }
    case 'message.attached': {
      // A queued question's turn came: it moves after the head with its new seq.
      const { messageId, parentId, seq } = item.payload;
      const branchId = next.messages.find((m) => m.id === messageId)?.branchId;
      next = updateMessage(next, messageId, (m) => ({ ...m, parentId, seq, status: 'complete' }));
      if (branchId) next = withBranchHead(next, branchId, messageId);
      next = { ...next, messages: sortBySeq(next.messages) };
      return result(next, branchId === undefined);
    }
    case 'message.restarted': {
      // A retried run answers again in this reply: its text starts over, the earlier text kept as an attempt.
      const { messageId, attempt } = item.payload;
      next = updateMessage(next, messageId, (m) => ({
        ...m,
        attempts: m.parts.length ? [...(m.attempts ?? []), { attempt: attempt - 1, parts: m.parts, status: m.status }] : (m.attempts ?? []),
        parts: [],
        status: 'streaming',
      }));
      return result(next, true);
    }
    case 'message.interrupted': {
      const { messageId, status } = item.payload;
      next = updateMessage(next, messageId, (m) => ({ ...m, status }));
      return result(next, true);
    }
    case 'context.updated': {
      const changes = item.payload.changes;
      const context = { ...next.context, ...changes };
      const state = { ...next.state };
      if (changes.state) {
        state.state = changes.state;
        state.pendingToolCalls = changes.state.type === 'AwaitingToolApproval' ? changes.state.pendingToolCalls : [];
      }
      if (changes.lastError !== undefined) state.lastError = changes.lastError;
      next = { ...next, context, state };
      // The sidebar shows titles and a busy dot.
      return result(next, true, changes.title !== undefined || changes.state !== undefined);
    }
    case 'tool.requested': {
      const t = item.payload.toolCall;
      if (!next.toolCalls.some((x) => x.id === t.id)) {
        const call: ToolCall = { ...t, createdAt: new Date(t.createdAt), decidedAt: date(t.decidedAt) };
        next = { ...next, toolCalls: [...next.toolCalls, call] };
      }
      return result(next, true);
    }
    case 'tool.decided': {
      const { toolCallId, status, decidedBy, decidedAt, reason } = item.payload;
      next = updateToolCall(next, toolCallId, (t) => ({ ...t, status, decidedBy, decidedAt: new Date(decidedAt), reason }));
      return result(next, true);
    }
    case 'tool.started':
      next = updateToolCall(next, item.payload.toolCallId, (t) => ({ ...t, status: 'running' }));
      return result(next, true);
    case 'tool.finished': {
      const { toolCallId, status, result: value } = item.payload;
      next = updateToolCall(next, toolCallId, (t) => ({ ...t, status, result: value }));
      return result(next, true);
    }
    case 'branch.created': {
      // An edit or a regenerate forked a branch: the switcher lists it at once.
      const b = item.payload.branch;
      if (!next.branches.some((x) => x.id === b.id)) {
        const branch: Branch = { ...b, contextId: detail.context.id, createdAt: new Date(b.createdAt) };
        next = { ...next, branches: [...next.branches, branch] };
      }
      return result(next, true);
    }
    case 'branch.switched':
      // Switched locally when the new branch's path is already here (a fresh fork),
      // so its next messages apply at once; the refetch brings the rest either way.
      return result(switchBranchLocally(next, item.payload.branchId), true);
    case 'context.created':
    case 'context.deleted':
      return result(next, true, true);
    default:
      // run.*: derived data (active run, queue, latest run).
      return result(next, true);
  }
}

function withBranchHead(detail: ContextDetail, branchId: string, headMessageId: string): ContextDetail {
  const move = (b: Branch): Branch => (b.id === branchId && b.headMessageId !== headMessageId ? { ...b, headMessageId } : b);
  const branches = detail.branches.map(move);
  const branch = detail.branch ? move(detail.branch) : detail.branch;
  if (branch === detail.branch && branches.every((b, i) => b === detail.branches[i])) return detail;
  return { ...detail, branch, branches };
}

/**
 * `branch.switched`: the context's active branch changes. When the new head is
 * on the path shown (a branch just forked from it, as an edit or a regenerate
 * does), the new branch's messages are that path up to its head and the switch
 * is made here; otherwise only `activeBranchId` moves, and the transcript keeps
 * showing the old branch until the refetch (which the caller always asks for)
 * brings the new one. Optimistic messages stay: they are sent to the active branch.
 */
export function switchBranchLocally(detail: ContextDetail, branchId: string): ContextDetail {
  const context = detail.context.activeBranchId === branchId ? detail.context : { ...detail.context, activeBranchId: branchId };
  const switched = context === detail.context ? detail : { ...detail, context };
  if (detail.branch?.id === branchId) return switched;
  const target = detail.branches.find((b) => b.id === branchId);
  if (!target) return switched;
  const confirmed = detail.messages.filter((m) => !isOptimistic(m));
  const pending = detail.messages.filter(isOptimistic);
  let path: ChatMessage[];
  let messagesCursor = detail.messagesCursor;
  if (target.headMessageId === null) {
    path = [];
    messagesCursor = null;
  } else {
    const at = confirmed.findIndex((m) => m.id === target.headMessageId);
    if (at < 0) return switched;
    path = confirmed.slice(0, at + 1);
  }
  return { ...switched, branch: target, messages: [...path, ...pending], messagesCursor };
}

/**
 * Merges a freshly fetched `context.get` with what this tab already knows:
 *  - persisted events applied while the request was in flight are re-applied
 *    (by seq, so nothing twice);
 *  - a streaming reply's text never goes backwards (the server's copy is only
 *    as new as its last checkpoint; deltas since then are already here);
 *  - optimistic user messages still waiting for their server copy stay;
 *  - older pages loaded with "Load earlier" stay (a fetch returns the newest page).
 */
export function reconcileFetched(
  fresh: ContextDetail,
  previous: ContextDetail | undefined,
  recent: readonly PersistedItem[],
): ContextDetail {
  let next = fresh;
  for (const item of recent) {
    if (item.seq > appliedSeq(next)) next = applyStreamItem(next, item).detail;
  }
  if (!previous || previous.context.id !== fresh.context.id) return next;

  const before = new Map(previous.messages.map((m) => [m.id, m]));
  let changed = false;
  const messages = next.messages.map((m) => {
    const old = before.get(m.id);
    if (!old || m.status !== 'streaming' || old.status !== 'streaming') return m;
    const oldText = textOfParts(old.parts);
    const text = textOfParts(m.parts);
    if (oldText.length <= text.length || !oldText.startsWith(text)) return m;
    changed = true;
    return { ...m, parts: withText(m.parts, oldText) };
  });
  const confirmed = new Set(messages.flatMap((m) => (m.clientMessageId ? [m.clientMessageId] : [])));
  const pending = previous.messages.filter((m) => isOptimistic(m) && !confirmed.has(m.clientMessageId ?? ''));

  let older: ChatMessage[] = [];
  let messagesCursor = next.messagesCursor;
  if (next.messagesCursor !== null && previous.branch?.id === next.branch?.id) {
    const firstSeq = messages[0]?.seq ?? Number.POSITIVE_INFINITY;
    older = previous.messages.filter((m) => !isOptimistic(m) && m.seq < firstSeq);
    if (older.length > 0) messagesCursor = previous.messagesCursor;
  }
  if (!changed && pending.length === 0 && older.length === 0) return next;
  return { ...next, messagesCursor, messages: [...older, ...messages, ...pending] };
}

/** "Load earlier": an older page of the active branch goes in front. */
export function prependOlder(detail: ContextDetail, page: { items: ChatMessage[]; nextCursor: number | null }): ContextDetail {
  const known = new Set(detail.messages.map((m) => m.id));
  const older = page.items.filter((m) => !known.has(m.id));
  return { ...detail, messagesCursor: page.nextCursor, messages: sortBySeq([...older, ...detail.messages]) };
}

/** The user's message as it appears before the server has it. */
export function optimisticMessage(
  detail: ContextDetail,
  input: { clientMessageId: string; content: string; createdAt?: Date },
): ChatMessage {
  return {
    id: OPTIMISTIC_PREFIX + input.clientMessageId,
    attempts: [],
    contextId: detail.context.id,
    branchId: detail.branch?.id ?? '',
    parentId: null,
    seq: Number.MAX_SAFE_INTEGER,
    role: 'user',
    parts: [{ type: 'text', text: input.content }],
    status: 'complete',
    runId: null,
    clientMessageId: input.clientMessageId,
    createdAt: input.createdAt ?? new Date(),
  };
}

export function addOptimisticMessage(
  detail: ContextDetail,
  input: { clientMessageId: string; content: string },
): ContextDetail {
  if (detail.messages.some((m) => m.clientMessageId === input.clientMessageId)) return detail;
  return { ...detail, messages: [...detail.messages, optimisticMessage(detail, input)] };
}

/** An edit on its way to the server: the message it replaces and the new text. */
export interface PendingEdit {
  editOfMessageId: string;
  clientMessageId: string;
  content: string;
  createdAt: Date;
}

/** The server's copy of the edit (with its clientMessageId) is in the transcript. */
export const editArrived = (detail: ContextDetail, edit: PendingEdit) =>
  detail.messages.some((m) => !isOptimistic(m) && m.clientMessageId === edit.clientMessageId);

/**
 * What the transcript shows while an edit is being sent: the path before the
 * edited message, then the new text marked "sending" (the edited message and
 * everything after it belong to the old branch). The cache is left alone: the
 * server's events (branch.created, branch.switched, message.created) or the
 * refetch replace this view with the new branch as soon as they arrive.
 */
export function withPendingEdit(detail: ContextDetail, edit: PendingEdit | null): ContextDetail {
  if (!edit || editArrived(detail, edit)) return detail;
  const at = detail.messages.findIndex((m) => m.id === edit.editOfMessageId);
  const before = at < 0 ? detail.messages.filter((m) => !isOptimistic(m)) : detail.messages.slice(0, at).filter((m) => !isOptimistic(m));
  const pending = detail.messages.filter((m) => isOptimistic(m) && m.clientMessageId !== edit.clientMessageId);
  const message = optimisticMessage(detail, edit);
  return { ...detail, messages: [...before, message, ...pending] };
}

/** Rollback: the optimistic copy goes away (the error is shown elsewhere). */
export function removeOptimisticMessage(detail: ContextDetail, clientMessageId: string): ContextDetail {
  const messages = detail.messages.filter((m) => !(isOptimistic(m) && m.clientMessageId === clientMessageId));
  return messages.length === detail.messages.length ? detail : { ...detail, messages };
}

/** Success: the server's message replaces the optimistic copy (unless its event already did). */
export function confirmMessage(detail: ContextDetail, message: ChatMessage, clientMessageId: string): ContextDetail {
  const others = detail.messages.filter((m) => !(isOptimistic(m) && m.clientMessageId === clientMessageId));
  if (others.some((m) => m.id === message.id)) {
    return others.length === detail.messages.length ? detail : { ...detail, messages: others };
  }
  if (detail.branch && message.branchId !== detail.branch.id) return { ...detail, messages: others };
  return { ...detail, messages: sortBySeq([...others, message]) };
}
