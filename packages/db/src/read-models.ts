import type { ContextEvent, ContextRecord, MessageRecord, RunRecord, ToolCallRecord } from '@chat/core';
import type pg from 'pg';
import { readEvents } from './event-log.ts';
import type { PrismaClient } from './generated/prisma/client.ts';
import { fromJsonRow, toBranch, toContext, toEvent, toMessage, toRun, toToolCall } from './mappers.ts';

/** Read-only queries behind the API's list/get procedures. Writes go through the repository only. */
export class ReadModels {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: pg.Pool,
  ) {}

  async context(contextId: string): Promise<ContextRecord | null> {
    const row = await this.prisma.context.findUnique({ where: { id: contextId } });
    return row && !row.deletedAt ? toContext(row) : null;
  }

  /** Newest first, keyset-paginated by (updatedAt, id). */
  async listContexts(ownerId: string, limit: number, cursor?: string) {
    const rows = await this.prisma.context.findMany({
      where: { ownerId, deletedAt: null },
      orderBy: [{ updatedAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
      ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
    });
    const page = rows.slice(0, limit).map(toContext);
    return { items: page, nextCursor: rows.length > limit ? page.at(-1)!.id : null };
  }

  async branches(contextId: string) {
    const rows = await this.prisma.branch.findMany({ where: { contextId }, orderBy: { createdAt: 'asc' } });
    return rows.map(toBranch);
  }

  /**
   * The messages of a branch in order: the path from its head to the root,
   * paginated backwards from `beforeSeq` (newest page first, each page in order).
   */
  async branchMessages(contextId: string, headMessageId: string | null, limit: number, beforeSeq?: number) {
    if (!headMessageId) return { items: [] as MessageRecord[], nextCursor: null as number | null };
    const rows = await this.prisma.$queryRaw<{ id: string; seq: number }[]>`
      WITH RECURSIVE path(id, "parentId", seq) AS (
        SELECT id, "parentId", seq FROM "Message" WHERE id = ${headMessageId} AND "contextId" = ${contextId}
        UNION ALL
        SELECT m.id, m."parentId", m.seq FROM "Message" m JOIN path p ON m.id = p."parentId"
      )
      SELECT id, seq FROM path
      WHERE ${beforeSeq ?? null}::int IS NULL OR seq < ${beforeSeq ?? null}::int
      ORDER BY seq DESC
      LIMIT ${limit + 1}`;
    const ids = rows.slice(0, limit).map((r) => r.id);
    const messages = await this.prisma.message.findMany({ where: { id: { in: ids } }, orderBy: { seq: 'asc' } });
    return {
      items: messages.map(toMessage),
      nextCursor: rows.length > limit ? (rows[limit - 1]?.seq ?? null) : null,
    };
  }

  async runs(contextId: string, status?: string, limit = 50): Promise<RunRecord[]> {
    const rows = await this.prisma.run.findMany({
      where: { contextId, ...(status ? { status } : {}) },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
    return rows.map(toRun);
  }

  /** The replies of the context's active run still streaming (index lookups: Context by id, Message by runId). */
  async streamingMessages(contextId: string): Promise<MessageRecord[]> {
    const rows = await this.prisma.$queryRaw<{ m: Record<string, unknown> }[]>`
      SELECT row_to_json(m) AS m FROM "Context" c JOIN "Message" m ON m."runId" = c."activeRunId"
      WHERE c.id = ${contextId} AND m."contextId" = ${contextId} AND m.status = 'streaming'
      ORDER BY m.seq`;
    return rows.map((r) => toMessage(fromJsonRow(r.m)));
  }

  async run(runId: string): Promise<RunRecord | null> {
    const row = await this.prisma.run.findUnique({ where: { id: runId } });
    return row ? toRun(row) : null;
  }

  async toolCalls(runIds: string[]): Promise<ToolCallRecord[]> {
    if (runIds.length === 0) return [];
    const rows = await this.prisma.toolCall.findMany({ where: { runId: { in: runIds } }, orderBy: { createdAt: 'asc' } });
    return rows.map(toToolCall);
  }

  events(contextId: string, afterSeq: number, limit: number): Promise<ContextEvent[]> {
    return readEvents(this.pool, contextId, afterSeq, limit);
  }

  /** Events that mention a run (its own and those of its messages and tool calls). */
  async runEvents(contextId: string, runId: string): Promise<ContextEvent[]> {
    const rows = await this.prisma.$queryRaw<{ seq: number }[]>`
      SELECT seq FROM "Event" WHERE "contextId" = ${contextId} AND (
        payload->>'runId' = ${runId} OR payload->'run'->>'id' = ${runId}
        OR payload->'message'->>'runId' = ${runId} OR payload->'toolCall'->>'runId' = ${runId}
        OR payload->>'messageId' IN (SELECT id FROM "Message" WHERE "runId" = ${runId})
        OR payload->>'toolCallId' IN (SELECT id FROM "ToolCall" WHERE "runId" = ${runId})
      ) ORDER BY seq`;
    const events = await this.prisma.event.findMany({
      where: { contextId, seq: { in: rows.map((r) => r.seq) } },
      orderBy: { seq: 'asc' },
    });
    return events.map(toEvent);
  }

  async allEvents(contextId: string): Promise<ContextEvent[]> {
    const rows = await this.prisma.event.findMany({ where: { contextId }, orderBy: { seq: 'asc' } });
    return rows.map(toEvent);
  }

  /** Every stored row of a context, for comparing against a rebuild from its log. */
  async storedRows(contextId: string) {
    const [context, branches, messages, runs, toolCalls] = await Promise.all([
      this.prisma.context.findUnique({ where: { id: contextId } }),
      this.prisma.branch.findMany({ where: { contextId } }),
      this.prisma.message.findMany({ where: { contextId } }),
      this.prisma.run.findMany({ where: { contextId } }),
      this.prisma.toolCall.findMany({ where: { run: { contextId } } }),
    ]);
    if (!context) return null;
    return {
      context: toContext(context),
      branches: branches.map(toBranch),
      messages: messages.map(toMessage),
      runs: runs.map(toRun),
      toolCalls: toolCalls.map(toToolCall),
    };
  }

  async allContextIds(): Promise<string[]> {
    const rows = await this.prisma.context.findMany({ select: { id: true }, orderBy: { createdAt: 'asc' } });
    return rows.map((r) => r.id);
  }
}
