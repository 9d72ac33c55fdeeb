import {
  ConcurrencyError,
  ContextAggregate,
  notFound,
  type Clock,
  type ContextEvent,
  type ContextRepository,
  type ContextView,
  type IdempotencyWrite,
  type LoadOptions,
  type MessageRecord,
} from '@chat/core';
import type { PrismaClient } from './generated/prisma/client.ts';
import {
  contextColumns,
  fromJsonRow,
  json,
  jsonOrDbNull,
  messageColumns,
  runColumns,
  toBranch,
  toContext,
  toMessage,
  toRun,
  toToolCall,
  toolCallColumns,
} from './mappers.ts';
import { EVENTS_CHANNEL, type EventsNotification } from './notifications.ts';

const OPEN_RUN_STATUSES = ['pending', 'processing', 'awaiting_approval'];

type JsonRow = { id: string } & Record<string, unknown>;
interface SnapshotRow {
  context: JsonRow | null;
  branches: JsonRow[];
  runs: JsonRow[];
  messages: JsonRow[];
  toolCalls: JsonRow[];
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

/**
 * The dirty-flag repository (DESIGN §5). `save` is the one place where a
 * context's changes are written: nothing when clean; otherwise one transaction
 * with the version-guarded context row, the changed rows, the events, the
 * idempotency record, and a NOTIFY that Postgres delivers only on commit.
 */
export class PrismaContextRepository implements ContextRepository {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly clock: Clock,
  ) {}

  /**
   * One statement, so one consistent snapshot: the context row and the runs
   * it names come from the same moment (separate reads could see a run finish
   * in between and leave the state pointing at a run not loaded).
   */
  async load(contextId: string, opts: LoadOptions = {}): Promise<ContextAggregate> {
    const [row] = await this.prisma.$queryRaw<SnapshotRow[]>`
      WITH ctx AS (SELECT * FROM "Context" WHERE id = ${contextId} AND "deletedAt" IS NULL),
      extra_messages AS (
        SELECT * FROM "Message" WHERE "contextId" = ${contextId} AND id = ANY(${opts.messageIds ?? []}::text[])
      ),
      runs AS (
        SELECT * FROM "Run" WHERE "contextId" = ${contextId} AND (
          status = ANY(${OPEN_RUN_STATUSES}::text[])
          OR id = ANY(${opts.runIds ?? []}::text[])
          OR id IN (SELECT "runId" FROM extra_messages)
        )
      )
      SELECT
        (SELECT row_to_json(ctx) FROM ctx) AS context,
        (SELECT coalesce(json_agg(b), '[]') FROM "Branch" b WHERE b."contextId" = ${contextId}) AS branches,
        (SELECT coalesce(json_agg(r), '[]') FROM runs r) AS runs,
        (SELECT coalesce(json_agg(m), '[]') FROM "Message" m WHERE m."contextId" = ${contextId} AND (
          m."runId" IN (SELECT id FROM runs) OR m.id IN (SELECT "triggerMessageId" FROM runs) OR m.id IN (SELECT id FROM extra_messages)
        )) AS messages,
        (SELECT coalesce(json_agg(t), '[]') FROM "ToolCall" t WHERE t."runId" IN (SELECT id FROM runs)) AS "toolCalls"`;
    if (!row?.context) throw notFound('context', contextId);
    const view: ContextView = {
      context: toContext(fromJsonRow(row.context)),
      branches: new Map(row.branches.map((b) => [b.id, toBranch(fromJsonRow(b))])),
      messages: new Map(row.messages.map((m) => [m.id, toMessage(fromJsonRow(m))])),
      runs: new Map(row.runs.map((r) => [r.id, toRun(fromJsonRow(r))])),
      toolCalls: new Map(row.toolCalls.map((t) => [t.id, toToolCall(fromJsonRow(t))])),
    };
    return ContextAggregate.load(view, this.clock);
  }

  async save(aggregate: ContextAggregate, extra: { idempotency?: IdempotencyWrite } = {}): Promise<void> {
    if (!aggregate.isDirty && !extra.idempotency) return;
    const view = aggregate.rows;
    const ctx = view.context;
    const events = aggregate.uncommittedEvents;
    const expected = aggregate.expectedVersion;
    const newVersion = expected === null ? 0 : expected + 1;

    await this.prisma.$transaction(async (tx) => {
      if (aggregate.isDirty) {
        if (expected === null) {
          await tx.context.create({
            data: { id: ctx.id, ownerId: ctx.ownerId, createdAt: ctx.createdAt, version: 0, ...contextColumns(ctx) },
          });
        } else {
          const { count } = await tx.context.updateMany({
            where: { id: ctx.id, version: expected },
            data: { ...contextColumns(ctx), version: newVersion },
          });
          if (count === 0) throw new ConcurrencyError(ctx.id, expected);
        }
        const changes = aggregate.rowChanges;
        const created = (table: string) => changes.filter((c) => c.table === table && c.isNew).map((c) => c.id);
        const changed = (table: string) => changes.filter((c) => c.table === table && !c.isNew);

        const newBranches = created('branch').map((id) => view.branches.get(id)!);
        if (newBranches.length) await tx.branch.createMany({ data: newBranches });
        for (const { id } of changed('branch')) {
          await tx.branch.updateMany({ where: { id }, data: { headMessageId: view.branches.get(id)!.headMessageId } });
        }
        const newRuns = created('run').map((id) => view.runs.get(id)!);
        // A message refers to its run and a run to its trigger message; neither has a foreign key, so order is free.
        if (newRuns.length) await tx.run.createMany({ data: newRuns });
        for (const change of changed('run')) {
          await tx.run.updateMany({ where: { id: change.id }, data: runColumns(view.runs.get(change.id)!, change.lease ?? false) });
        }
        const newMessages = created('message').map((id) => view.messages.get(id)!);
        if (newMessages.length) {
          await tx.message.createMany({ data: newMessages.map((m) => ({ ...m, parts: json(m.parts) })) });
        }
        for (const { id } of changed('message')) {
          await tx.message.updateMany({ where: { id }, data: messageColumns(view.messages.get(id)!) });
        }
        const newToolCalls = created('toolCall').map((id) => view.toolCalls.get(id)!);
        if (newToolCalls.length) {
          await tx.toolCall.createMany({
            data: newToolCalls.map((t) => ({ ...t, args: json(t.args), result: jsonOrDbNull(t.result) })),
          });
        }
        for (const { id } of changed('toolCall')) {
          await tx.toolCall.updateMany({ where: { id }, data: toolCallColumns(view.toolCalls.get(id)!) });
        }
        if (events.length) {
          await tx.event.createMany({
            data: events.map((e) => ({
              contextId: e.contextId,
              seq: e.seq,
              type: e.type,
              payload: json(e.payload),
              createdAt: e.createdAt,
            })),
          });
          const notification: EventsNotification = {
            c: ctx.id,
            f: events[0]!.seq,
            s: events.at(-1)!.seq,
            w: events.some(makesWorkAvailable),
          };
          await tx.$executeRaw`SELECT pg_notify(${EVENTS_CHANNEL}, ${JSON.stringify(notification)})`;
        }
      }
      if (extra.idempotency) {
        const r = extra.idempotency;
        await tx.idempotencyRecord.create({
          data: {
            ownerId: r.ownerId,
            procedure: r.procedure,
            key: r.key,
            requestHash: r.requestHash,
            status: 'completed',
            response: json(r.response),
            expiresAt: r.expiresAt,
          },
        });
      }
    });
    if (aggregate.isDirty) aggregate.markCommitted(newVersion);
  }

  async loadPath(contextId: string, headMessageId: string | null): Promise<MessageRecord[]> {
    if (!headMessageId) return [];
    const ids = await this.prisma.$queryRaw<{ id: string }[]>`
      WITH RECURSIVE path(id, "parentId") AS (
        SELECT id, "parentId" FROM "Message" WHERE id = ${headMessageId} AND "contextId" = ${contextId}
        UNION ALL
        SELECT m.id, m."parentId" FROM "Message" m JOIN path p ON m.id = p."parentId"
      )
      SELECT id FROM path`;
    const rows = await this.prisma.message.findMany({ where: { id: { in: ids.map((r) => r.id) } }, orderBy: { seq: 'asc' } });
    return rows.map(toMessage);
  }
}
