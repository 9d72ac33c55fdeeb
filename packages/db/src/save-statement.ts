import type { ContextAggregate, ContextEvent, IdempotencyWrite } from '@chat/core';
import { EVENTS_CHANNEL, MAX_NOTIFY_BYTES, type EventsNotification } from './notifications.ts';

/**
 * Everything one save writes, as ONE SQL statement of data-modifying CTEs:
 * the context row (guarded by `version = expected`), new and changed rows of
 * every table, the events, the idempotency record and the NOTIFY (which
 * PostgreSQL delivers only on commit). One round trip instead of one per row;
 * the ORM stays the schema, the migrations and the reads.
 *
 * Rows travel as one JSON array per table and are expanded with
 * json_populate_recordset against the table's own row type, so a column is
 * written exactly as the record names it.
 */
export interface SaveStatement {
  text: string;
  values: unknown[];
  /** The notification sent on commit, when there are events. */
  notification: EventsNotification | null;
}

/** Whether a worker may now have a run to claim: a run became active, was handed off, or re-queued. */
function makesWorkAvailable(event: ContextEvent): boolean {
  switch (event.type) {
    case 'run.queued':
      return true;
    case 'run.status_changed':
      return event.payload.status === 'pending' || event.payload.status === 'processing';
    case 'context.updated':
      return typeof event.payload.changes.activeRunId === 'string';
    default:
      return false;
  }
}

/** The run an event is about: named in its payload, or through its message or its tool call (run.latest reads by it). */
export function runOf(event: ContextEvent, view: ContextAggregate['rows']): string | null {
  const p = event.payload as {
    runId?: unknown;
    run?: { id?: unknown };
    message?: { runId?: unknown };
    toolCall?: { runId?: unknown };
    messageId?: unknown;
    toolCallId?: unknown;
  };
  const named = p.runId ?? p.run?.id ?? p.message?.runId ?? p.toolCall?.runId;
  if (typeof named === 'string') return named;
  if (typeof p.messageId === 'string') return view.messages.get(p.messageId)?.runId ?? null;
  if (typeof p.toolCallId === 'string') return view.toolCalls.get(p.toolCallId)?.runId ?? null;
  return null;
}

/** Checkpoints are frequent and change nothing a list is sorted by: they leave `updatedAt` (indexed) alone. */
const touchesListOrder = (events: readonly ContextEvent[]) => events.some((e) => e.type !== 'message.checkpointed');

export function buildSaveStatement(aggregate: ContextAggregate, idempotency: IdempotencyWrite | undefined, now: Date): SaveStatement {
  const values: unknown[] = [];
  const p = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  const jsonRows = (rows: unknown[]) => p(JSON.stringify(rows));
  const ctes: string[] = [];
  let guard: string | null = null;
  let notification: EventsNotification | null = null;

  if (aggregate.isDirty) {
    const view = aggregate.rows;
    const c = view.context;
    const expected = aggregate.expectedVersion;
    const events = aggregate.uncommittedEvents;
    const nowIso = now.toISOString();
    if (expected === null) {
      ctes.push(
        `ctx AS (INSERT INTO "Context" SELECT * FROM json_populate_record(null::"Context", ${p(
          JSON.stringify({ ...c, version: 0, updatedAt: nowIso }),
        )}::json) RETURNING 1)`,
      );
    } else {
      const updatedAt = touchesListOrder(events) ? `, "updatedAt" = ${p(nowIso)}::timestamp` : '';
      ctes.push(
        `ctx AS (UPDATE "Context" SET "ownerId" = ${p(c.ownerId)}, title = ${p(c.title)}, model = ${p(c.model)}, mode = ${p(c.mode)},
          "systemPrompt" = ${p(c.systemPrompt)}, "busyPolicy" = ${p(c.busyPolicy)}, "activeBranchId" = ${p(c.activeBranchId)},
          state = ${p(JSON.stringify(c.state))}::jsonb, "activeRunId" = ${p(c.activeRunId)}, version = ${p(expected + 1)}::int,
          "lastEventSeq" = ${p(c.lastEventSeq)}::int, "lastMessageSeq" = ${p(c.lastMessageSeq)}::int, "lastError" = ${p(c.lastError)},
          "deletedAt" = ${p(c.deletedAt ? c.deletedAt.toISOString() : null)}::timestamp${updatedAt}
        WHERE id = ${p(c.id)} AND version = ${p(expected)}::int RETURNING 1)`,
      );
    }
    guard = 'ctx';

    const changes = aggregate.rowChanges;
    const created = (table: string) => changes.filter((x) => x.table === table && x.isNew);
    const changed = (table: string) => changes.filter((x) => x.table === table && !x.isNew);

    const newBranches = created('branch').map((x) => view.branches.get(x.id)!);
    if (newBranches.length) {
      ctes.push(`b_new AS (INSERT INTO "Branch" SELECT * FROM json_populate_recordset(null::"Branch", ${jsonRows(newBranches)}::json))`);
    }
    const changedBranches = changed('branch').map((x) => view.branches.get(x.id)!);
    if (changedBranches.length) {
      ctes.push(
        `b_upd AS (UPDATE "Branch" t SET "headMessageId" = x."headMessageId"
          FROM json_populate_recordset(null::"Branch", ${jsonRows(changedBranches)}::json) x WHERE t.id = x.id)`,
      );
    }

    const newRuns = created('run').map((x) => view.runs.get(x.id)!);
    if (newRuns.length) {
      ctes.push(`r_new AS (INSERT INTO "Run" SELECT * FROM json_populate_recordset(null::"Run", ${jsonRows(newRuns)}::json))`);
    }
    // Lease columns are written only when the aggregate changed them: renewals update them on their own.
    for (const [name, withLease] of [
      ['r_upd', false],
      ['r_lease', true],
    ] as const) {
      const rows = changed('run')
        .filter((x) => (x.lease ?? false) === withLease)
        .map((x) => view.runs.get(x.id)!);
      if (!rows.length) continue;
      // The lease runs on the database's clock: the aggregate's expiry minus this process's now, from the database's now.
      const lease = withLease
        ? `, "leaseOwner" = x."leaseOwner", "leaseExpiresAt" = (now() AT TIME ZONE 'UTC') + (x."leaseExpiresAt" - ${p(nowIso)}::timestamp)`
        : '';
      ctes.push(
        `${name} AS (UPDATE "Run" t SET "responseMessageId" = x."responseMessageId", status = x.status, attempt = x.attempt,
          error = x.error, "startedAt" = x."startedAt", "completedAt" = x."completedAt"${lease}
          FROM json_populate_recordset(null::"Run", ${jsonRows(rows)}::json) x WHERE t.id = x.id)`,
      );
    }

    const newMessages = created('message').map((x) => ({ ...view.messages.get(x.id)!, updatedAt: nowIso }));
    if (newMessages.length) {
      ctes.push(`m_new AS (INSERT INTO "Message" SELECT * FROM json_populate_recordset(null::"Message", ${jsonRows(newMessages)}::json))`);
    }
    // A message changed only by checkpoints (text appended while it streams) gets just the appended
    // text: a long reply's checkpoint does not resend the whole reply. Other changes write the parts.
    const appended = new Map<string, string>();
    const rewritten = new Set<string>();
    for (const e of events) {
      if (e.type === 'message.checkpointed') appended.set(e.payload.messageId, (appended.get(e.payload.messageId) ?? '') + e.payload.text);
      else if ('messageId' in e.payload && typeof e.payload.messageId === 'string') rewritten.add(e.payload.messageId);
    }
    const changedMessages = changed('message').map((x) => view.messages.get(x.id)!);
    const appendOnly = changedMessages.filter((m) => appended.has(m.id) && !rewritten.has(m.id));
    const fullRows = changedMessages.filter((m) => !appendOnly.includes(m));
    if (appendOnly.length) {
      ctes.push(
        `m_append AS (UPDATE "Message" t SET "updatedAt" = ${p(nowIso)}::timestamp, parts = CASE
            WHEN jsonb_array_length(t.parts) = 0 THEN jsonb_build_array(jsonb_build_object('type', 'text', 'text', x.text))
            ELSE jsonb_set(t.parts, '{0,text}', to_jsonb(coalesce(t.parts->0->>'text', '') || x.text)) END
          FROM json_to_recordset(${jsonRows(appendOnly.map((m) => ({ id: m.id, text: appended.get(m.id) })))}::json) AS x(id text, text text)
          WHERE t.id = x.id)`,
      );
    }
    if (fullRows.length) {
      ctes.push(
        `m_upd AS (UPDATE "Message" t SET parts = x.parts, status = x.status, "parentId" = x."parentId", seq = x.seq,
          attempts = x.attempts, "updatedAt" = ${p(nowIso)}::timestamp
          FROM json_populate_recordset(null::"Message", ${jsonRows(
            fullRows.map((m) => ({ id: m.id, parts: m.parts, status: m.status, parentId: m.parentId, seq: m.seq, attempts: m.attempts })),
          )}::json) x WHERE t.id = x.id)`,
      );
    }

    const newToolCalls = created('toolCall').map((x) => view.toolCalls.get(x.id)!);
    if (newToolCalls.length) {
      ctes.push(`t_new AS (INSERT INTO "ToolCall" SELECT * FROM json_populate_recordset(null::"ToolCall", ${jsonRows(newToolCalls)}::json))`);
    }
    const changedToolCalls = changed('toolCall').map((x) => view.toolCalls.get(x.id)!);
    if (changedToolCalls.length) {
      ctes.push(
        `t_upd AS (UPDATE "ToolCall" t SET status = x.status, result = x.result, "decidedAt" = x."decidedAt",
          "decidedBy" = x."decidedBy", reason = x.reason
          FROM json_populate_recordset(null::"ToolCall", ${jsonRows(changedToolCalls)}::json) x WHERE t.id = x.id)`,
      );
    }

    if (events.length) {
      const rows = events.map((e) => ({ seq: e.seq, type: e.type, payload: e.payload, createdAt: e.createdAt.toISOString() }));
      ctes.push(
        `e_new AS (INSERT INTO "Event" SELECT * FROM json_populate_recordset(null::"Event", ${jsonRows(
          rows.map((e, i) => ({ contextId: c.id, ...e, runId: runOf(events[i]!, view) })),
        )}::json))`,
      );
      notification = { c: c.id, f: events[0]!.seq, s: events.at(-1)!.seq, w: events.some(makesWorkAvailable), t: now.getTime(), e: rows };
    }
  }

  if (idempotency) {
    const r = idempotency;
    ctes.push(
      `i_new AS (INSERT INTO "IdempotencyRecord" SELECT * FROM json_populate_record(null::"IdempotencyRecord", ${p(
        JSON.stringify({
          ownerId: r.ownerId,
          key: r.key,
          procedure: r.procedure,
          requestHash: r.requestHash,
          status: 'completed',
          response: r.response,
          createdAt: now.toISOString(),
          expiresAt: r.expiresAt.toISOString(),
        }),
      )}::json))`,
    );
  }

  // A SELECT in WITH runs only when referenced: the main query reads it.
  if (notification) ctes.push(`notify AS (SELECT pg_notify(${p(EVENTS_CHANNEL)}, ${p(notificationPayload(notification))}))`);
  const select = [
    guard ? `(SELECT count(*) FROM ${guard})::int AS saved` : '1 AS saved',
    notification ? '(SELECT count(*) FROM notify)::int AS notified' : '0 AS notified',
  ].join(', ');
  return { text: `WITH ${ctes.join(',\n')}\nSELECT ${select}`, values, notification };
}

/** The notification with its events when that fits in one NOTIFY, else with their seqs only (the receiver reads them). */
export function notificationPayload(n: EventsNotification): string {
  const whole = JSON.stringify(n);
  if (whole.length * 3 <= MAX_NOTIFY_BYTES || Buffer.byteLength(whole) <= MAX_NOTIFY_BYTES) return whole;
  const { e: _events, ...ids } = n;
  return JSON.stringify(ids);
}
