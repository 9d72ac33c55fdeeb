import type { BranchRecord, ContextEvent, ContextRecord, MessageRecord, RunRecord, ToolCallRecord } from '@chat/core';
import type pg from 'pg';
import { segmentsOf, type BranchTree } from './branch-lineage.ts';
import { readEvents, readRunEvents } from './event-log.ts';
import type { PrismaClient } from './generated/prisma/client.ts';
import { fromJsonRow, fromMessageRow, messageSelect, toBranch, toContext, toEvent, toMessage, toRun, toToolCall, type MessageRow } from './mappers.ts';

/** Lineage segments read per round trip by `branchMessages` (each is one subquery). */
const SEGMENTS_PER_QUERY = 16;

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

  async branches(contextId: string): Promise<BranchRecord[]> {
    return (await this.branchTree(contextId)).branches;
  }

  /** The branches with their fork points (each branch's first new message follows one message of another). */
  async branchTree(contextId: string): Promise<BranchTree> {
    const { rows } = await this.pool.query<{ r: Record<string, unknown>; forkBranchId: string | null; forkSeq: number | null }>(
      `SELECT row_to_json(b) AS r, fp."branchId" AS "forkBranchId", fp.seq AS "forkSeq"
       FROM "Branch" b
       LEFT JOIN "Message" fm ON fm.id = b."forkedFromMessageId"
       LEFT JOIN "Message" fp ON fp.id = fm."parentId"
       WHERE b."contextId" = $1 ORDER BY b."createdAt"`,
      [contextId],
    );
    const branches = rows.map((row) => toBranch(fromJsonRow(row.r)));
    const forkPoints = new Map(rows.map((row, i) => [branches[i]!.id, row.forkBranchId === null ? null : { branchId: row.forkBranchId, seq: row.forkSeq! }]));
    return { branches, forkPoints };
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
   * The messages of a branch in order, paginated backwards from `beforeSeq`
   * (newest page first, each page in order), then, on the newest page, its
   * queued questions (off the path until their run starts).
   *
   * Read as its lineage segments (branch-lineage.ts): one index range scan
   * per segment, newest first, each stopped at the page's size, so a page
   * costs its size (plus one index probe per segment) whatever the chat's
   * length. Each segment is its own subquery with its branch as a parameter:
   * the planner sees which branch it reads (a lateral join over the segments
   * would hide it and plan for an average branch). Segments go
   * `SEGMENTS_PER_QUERY` to a round trip; a deep lineage (a reply regenerated
   * over and over) takes another trip only when the page is not full yet.
   */
  async branchMessages(
    contextId: string,
    tree: BranchTree,
    branchId: string | null,
    limit: number,
    beforeSeq?: number,
  ): Promise<{ items: MessageRecord[]; nextCursor: number | null }> {
    if (!branchId || !tree.branches.some((b) => b.id === branchId)) return { items: [], nextCursor: null };
    const segments = segmentsOf(tree, branchId).filter((s) => beforeSeq === undefined || s.minSeq === null || s.minSeq + 1 < beforeSeq);
    const newestFirst: MessageRecord[] = [];
    const queued: MessageRecord[] = [];
    const firstPage = beforeSeq === undefined;
    for (let i = 0; i === 0 || (i < segments.length && newestFirst.length <= limit); i += SEGMENTS_PER_QUERY) {
      const params: unknown[] = [contextId, beforeSeq ?? null, limit + 1 - newestFirst.length];
      const p = (value: unknown) => `$${params.push(value)}`;
      const parts = segments.slice(i, i + SEGMENTS_PER_QUERY).map(
        (s) => `(SELECT false AS queued, ${messageSelect('m')} FROM "Message" m
          WHERE m."contextId" = $1 AND m."branchId" = ${p(s.branchId)} AND m.status <> 'queued'
            ${s.maxSeq === null ? '' : `AND m.seq <= ${p(s.maxSeq)}::int`} ${s.minSeq === null ? '' : `AND m.seq > ${p(s.minSeq)}::int`}
            AND ($2::int IS NULL OR m.seq < $2::int)
          ORDER BY m.seq DESC LIMIT $3::int)`,
      );
      if (i === 0 && firstPage) {
        parts.push(`(SELECT true, ${messageSelect('q')} FROM "Message" q WHERE q."contextId" = $1 AND q."branchId" = ${p(branchId)} AND q.status = 'queued')`);
      }
      if (parts.length === 0) break;
      const { rows } = await this.pool.query<MessageRow & { queued: boolean }>(parts.join('\nUNION ALL\n'), params);
      const page: MessageRecord[] = [];
      for (const row of rows) (row.queued ? queued : page).push(fromMessageRow(row));
      newestFirst.push(...page.sort((x, y) => y.seq - x.seq));
    }
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
