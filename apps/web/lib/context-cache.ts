import { contextRecord, domainEvent, publicContext, publicRun, runRecord, stateView } from '@chat/api/views';
import { activeRunIdOf, applyEvent, isRunEndEvent, mergeAt, type ContextView, type RunRecord, type Table } from '@chat/core';
import type { ChatMessage, ContextDetail, MessagePart, StreamItem } from './types';

/**
 * Pure updates of the cached `context.get` result.
 *
 * The server is the truth; this file only makes its pushed events visible at
 * once. Persisted events are applied at most once, by seq (the cache
 * remembers the last seq it contains, `context.lastEventSeq`), with core's
 * reducer: the same `applyEvent` the server replays its log with, on the
 * cached value seen as a window of the context (see `applyPersisted`).
 * Ephemeral deltas carry an offset and are applied only where they fit, so a
 * repeated or late delta never duplicates text. A refetch of `context.get`
 * (debounced by the caller) is asked for only where the window lacks what an
 * event names, and once at the end of each run.
 */

export { mergeAt };

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
  return applyPersisted(detail, item);
}

/** The cached value as core's `ContextView`: a window of the context (its latest page, its open runs). */
function viewOf(detail: ContextDetail): ContextView {
  const runs = new Map<string, RunRecord>();
  for (const run of [detail.latestRun, detail.state.activeRun, ...detail.state.queue]) {
    if (run) runs.set(run.id, runRecord(run));
  }
  return {
    context: contextRecord(detail.context),
    branches: new Map(detail.branches.map((b) => [b.id, { ...b }])),
    messages: new Map(detail.messages.filter((m) => !isOptimistic(m)).map((m) => [m.id, { ...m }])),
    runs,
    toolCalls: new Map(detail.toolCalls.map((t) => [t.id, { ...t }])),
  };
}

/**
 * A persisted event, applied with core's reducer (the one the server replays
 * its log with) to the cached value seen as a view, then shown again in the
 * public form. Rows the event does not touch keep their identity, so React
 * redraws only what changed. The refetch is asked for where the window lacks
 * what the event names, where the shown branch cannot follow locally, and at
 * the end of each run (one reconciliation per turn).
 */
function applyPersisted(detail: ContextDetail, item: PersistedItem): ApplyResult {
  if (item.type === 'message.checkpointed') {
    // A checkpoint beyond the text shown (which cannot follow from the log): the server's copy is needed.
    const shown = detail.messages.find((m) => m.id === item.payload.messageId);
    if (shown && mergeAt(textOfParts(shown.parts), item.payload.offset, item.payload.text) === null) {
      return { detail, refetch: true, listChanged: false };
    }
  }
  const view = viewOf(detail);
  const touched = new Set<string>();
  const created = new Set<string>();
  let missing = false;
  applyEvent(
    view,
    domainEvent(item),
    (table, id, isNew) => {
      touched.add(`${table}:${id}`);
      if (isNew) created.add(`${table}:${id}`);
    },
    () => {
      missing = true;
    },
  );

  const keep = <T extends { id: string }>(table: Table, before: readonly T[], after: Iterable<T>): T[] => {
    const old = new Map(before.map((row) => [row.id, row]));
    const rows = [...after].map((row) => (touched.has(`${table}:${row.id}`) ? row : (old.get(row.id) ?? row)));
    return rows.length === before.length && rows.every((row, i) => row === before[i]) ? (before as T[]) : rows;
  };

  const branches = keep('branch', detail.branches, view.branches.values());
  const shownBranch = (detail.branch && branches.find((b) => b.id === detail.branch!.id)) ?? detail.branch;

  // The transcript: the messages shown, changed where the event changed them, and new ones of the shown branch.
  let otherBranch = false;
  let messages = detail.messages;
  const changedShown = detail.messages.some((m) => touched.has(`message:${m.id}`));
  const added = [...view.messages.values()].filter((m) => created.has(`message:${m.id}`));
  const arriving = added.filter((m) => !detail.branch || m.branchId === detail.branch.id);
  if (arriving.length < added.length) otherBranch = true;
  if (changedShown || arriving.length > 0) {
    const confirmed = new Set(arriving.flatMap((m) => (m.clientMessageId ? [m.clientMessageId] : [])));
    const kept = detail.messages.flatMap((m) => {
      if (isOptimistic(m)) return m.clientMessageId && confirmed.has(m.clientMessageId) ? [] : [m];
      if (created.has(`message:${m.id}`)) return [];
      return [touched.has(`message:${m.id}`) ? (view.messages.get(m.id) ?? m) : m];
    });
    messages = sortBySeq([...kept, ...arriving]);
  }

  const runs = [...view.runs.values()];
  const newestRun = runs.reduce<RunRecord | null>((a, r) => (!a || r.createdAt.getTime() > a.createdAt.getTime() || (r.createdAt.getTime() === a.createdAt.getTime() && r.id > a.id) ? r : a), null);
  const latestRun = newestRun && (!detail.latestRun || touched.has(`run:${newestRun.id}`) || newestRun.id !== detail.latestRun.id) ? publicRun(newestRun) : detail.latestRun;

  let next: ContextDetail = {
    ...detail,
    context: publicContext(view.context),
    state: stateView(view),
    branch: shownBranch,
    branches,
    messages,
    toolCalls: keep('toolCall', detail.toolCalls, view.toolCalls.values()),
    latestRun,
  };

  // The state names a run this window does not hold (its run.queued came before the fetch's page of runs).
  const activeRunId = activeRunIdOf(view.context.state);
  const runUnknown = activeRunId !== null && !view.runs.has(activeRunId);
  let refetch = missing || otherBranch || runUnknown || isRunEndEvent(item.type);
  let listChanged = otherBranch;
  switch (item.type) {
    case 'branch.switched':
      // Switched here when the new branch's path is already shown (a fresh fork); the refetch brings the rest either way.
      next = switchBranchLocally(next, item.payload.branchId);
      refetch = true;
      break;
    case 'message.created':
      listChanged ||= item.payload.message.role === 'user';
      break;
    case 'context.updated':
      // The sidebar shows titles and a busy dot.
      listChanged = item.payload.changes.title !== undefined || item.payload.changes.state !== undefined;
      break;
    case 'context.created':
    case 'context.deleted':
      refetch = true;
      listChanged = true;
      break;
  }
  return { detail: next, refetch, listChanged };
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
