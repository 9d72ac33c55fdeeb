import type { ContextEvent, ContextRecord, MessageRecord, RunRecord, ToolCallRecord } from '@chat/core';
import type pg from 'pg';
import { readEvents, readRunEvents } from './event-log.ts';
import type { PrismaClient } from './generated/prisma/client.ts';
import { fromJsonRow, fromMessageRow, messageSelect, toBranch, toContext, toEvent, toMessage, toRun, toToolCall, type MessageRow } from './mappers.ts';

/** Read-only queries behind the API's list/get procedures. Writes go through the repository only. */
export class ReadModels {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: pg.Pool,
  ) {}

  /** Every procedure on a context reads it first (its owner): through the pool, like the reads below. */
  async context(contextId: string): Promise<ContextRecord | null> {
    const [row] = await this.jsonRows(`SELECT row_to_json(c) AS r FROM "Context" c WHERE id = $1 AND "deletedAt" IS NULL`, [contextId], toContext);
    return row ?? null;
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

  // The reads behind context.get and context.messages send their SQL through the pool: Prisma's query
  // compiler costs more CPU per call than the database spends on these index reads (npm run bench -- curves).

  async branches(contextId: string) {
    return this.jsonRows(`SELECT row_to_json(b) AS r FROM "Branch" b WHERE "contextId" = $1 ORDER BY "createdAt"`, [contextId], toBranch);
  }

  /** Rows selected as `row_to_json(...) AS r`, typed like Prisma's. */
  private async jsonRows<R, T>(sql: string, params: unknown[], map: (row: R) => T): Promise<T[]> {
    const { rows } = await this.pool.query<{ r: Record<string, unknown> }>(sql, params);
    return rows.map((row) => map(fromJsonRow<R>(row.r)));
  }

  /** Messages selected with `messageSelect`. */
  private async messageRows(sql: string, params: unknown[]): Promise<MessageRecord[]> {
    const { rows } = await this.pool.query<MessageRow>(sql, params);
    return rows.map(fromMessageRow);
  }

  /**
   * The messages of a branch in order: the path from its head to the root,
   * paginated backwards from `beforeSeq` (newest page first, each page in
   * order), then, on the newest page, its queued questions (off the path
   * until their run starts), in one round trip.
   *
   * A page is walked one primary-key lookup per message, from the head or
   * from the parent of the message at `beforeSeq` (seq grows along a path:
   * a parent always exists before its child), so its cost is the page's size
   * whatever the chat's length or the planner's estimates. (Range reads of
   * the branch's lineage segments would be cheaper per row, but their
   * lateral form hides the branch from the planner, which then estimates an
   * average branch and may read the whole of a long one.)
   */
  async branchMessages(
    contextId: string,
    branch: { id: string; headMessageId: string | null } | null,
    limit: number,
    beforeSeq?: number,
  ): Promise<{ items: MessageRecord[]; nextCursor: number | null }> {
    if (!branch) return { items: [], nextCursor: null };
    // A cursor that is no message of the context walks from the head, filtered (a page's cursor never needs it).
    const sql = `
      WITH RECURSIVE cursor AS (
        SELECT "parentId" AS id FROM "Message" WHERE "contextId" = $1 AND seq = $4::int
      ), start AS (
        SELECT CASE WHEN EXISTS (SELECT 1 FROM cursor) THEN (SELECT id FROM cursor) ELSE $3::text END AS id,
          $4::int IS NULL OR EXISTS (SELECT 1 FROM cursor) AS bounded
      ), path AS (
        SELECT h.*, 1 AS depth FROM "Message" h, start WHERE h.id = start.id AND h."contextId" = $1
        UNION ALL
        SELECT m.*, p.depth + 1 FROM "Message" m JOIN path p ON m.id = p."parentId"
        WHERE NOT (SELECT bounded FROM start) OR p.depth < $5::int
      ), page AS (
        SELECT * FROM path WHERE $4::int IS NULL OR seq < $4::int ORDER BY seq DESC LIMIT $5::int
      )
      SELECT false AS queued, ${messageSelect('page')} FROM page
      UNION ALL
      SELECT true, ${messageSelect('q')} FROM "Message" q
      WHERE $4::int IS NULL AND q."contextId" = $1 AND q."branchId" = $2 AND q.status = 'queued'`;
    const params = [contextId, branch.id, branch.headMessageId, beforeSeq ?? null, limit + 1];
    const { rows } = await this.pool.query<MessageRow & { queued: boolean }>(sql, params);
    const newestFirst: MessageRecord[] = [];
    const queued: MessageRecord[] = [];
    for (const row of rows) (row.queued ? queued : newestFirst).push(fromMessageRow(row));
    newestFirst.sort((x, y) => y.seq - x.seq);
    const items = newestFirst.slice(0, limit).reverse();
    queued.sort((x, y) => x.seq - y.seq);
    return { items: [...items, ...queued], nextCursor: newestFirst.length > limit ? (items[0]?.seq ?? null) : null };
  }

  async runs(contextId: string, status?: string, limit = 50): Promise<RunRecord[]> {
    const sql = `SELECT row_to_json(r) AS r FROM "Run" r WHERE "contextId" = $1 AND ($2::text IS NULL OR status = $2)
      ORDER BY "createdAt" DESC, id DESC LIMIT $3`;
    return this.jsonRows(sql, [contextId, status ?? null, limit], toRun);
  }

  /** The replies of the context's active run still streaming (index lookups: Context by id, Message by runId). */
  async streamingMessages(contextId: string): Promise<MessageRecord[]> {
    const sql = `SELECT ${messageSelect('m')} FROM "Context" c JOIN "Message" m ON m."runId" = c."activeRunId"
      WHERE c.id = $1 AND m."contextId" = $1 AND m.status = 'streaming'
      ORDER BY m.seq`;
    return this.messageRows(sql, [contextId]);
  }

  async run(runId: string): Promise<RunRecord | null> {
    const [row] = await this.jsonRows(`SELECT row_to_json(r) AS r FROM "Run" r WHERE id = $1`, [runId], toRun);
    return row ?? null;
  }

  async toolCalls(runIds: string[]): Promise<ToolCallRecord[]> {
    if (runIds.length === 0) return [];
    const sql = `SELECT row_to_json(t) AS r FROM "ToolCall" t WHERE "runId" = ANY($1::text[]) ORDER BY "createdAt"`;
    return this.jsonRows(sql, [runIds], toToolCall);
  }

  events(contextId: string, afterSeq: number, limit: number): Promise<ContextEvent[]> {
    return readEvents(this.pool, contextId, afterSeq, limit);
  }

  /** Events about a run (its own and those of its messages and tool calls): an index range read by runId. */
  async runEvents(contextId: string, runId: string): Promise<ContextEvent[]> {
    return readRunEvents(this.pool, contextId, runId);
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
