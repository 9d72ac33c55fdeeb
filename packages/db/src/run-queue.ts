import type { RunQueue } from '@chat/core';
import type { PrismaClient } from './generated/prisma/client.ts';

/** The queries a worker uses to find work (DESIGN §7). Claiming itself goes through the aggregate. */
export class PrismaRunQueue implements RunQueue {
  constructor(private readonly prisma: PrismaClient) {}

  /** Only models this process can run (the provider before ':'); contexts another writer holds are skipped. */
  async findClaimable(limit: number, providers: string[]) {
    return this.prisma.$queryRaw<{ contextId: string; runId: string; model: string }[]>`
      SELECT r."contextId" AS "contextId", r.id AS "runId", c.model AS model
      FROM "Run" r JOIN "Context" c ON c."activeRunId" = r.id
      WHERE c."deletedAt" IS NULL
        AND split_part(c.model, ':', 1) = ANY(${providers}::text[])
        AND c.state->>'type' IN ('ProcessingUserMessage', 'ExecutingTools')
        AND (r.status = 'pending' OR (r.status = 'processing' AND r."leaseOwner" IS NULL))
      ORDER BY r."createdAt"
      LIMIT ${limit}`;
  }

  /** Expiry by the database's clock, so instances with skewed clocks agree on who is dead. */
  async findExpiredLeases(limit: number) {
    const rows = await this.prisma.$queryRaw<{ contextId: string | null; runId: string | null; now: string }[]>`
      WITH clock AS (SELECT (now() AT TIME ZONE 'UTC') AS now)
      SELECT r."contextId" AS "contextId", r.id AS "runId", to_char(clock.now, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS now
      FROM clock LEFT JOIN LATERAL (
        SELECT "contextId", id, "leaseExpiresAt" FROM "Run"
        WHERE status = 'processing' AND "leaseOwner" IS NOT NULL AND "leaseExpiresAt" < clock.now
        ORDER BY "leaseExpiresAt" LIMIT ${limit}
      ) r ON true`;
    const now = new Date(rows[0]?.now ?? Date.now());
    return { now, runs: rows.flatMap((r) => (r.contextId && r.runId ? [{ contextId: r.contextId, runId: r.runId }] : [])) };
  }

  async findExpiredApprovals(cutoff: Date, limit: number) {
    const rows = await this.prisma.$queryRaw<{ contextId: string }[]>`
      SELECT DISTINCT c.id AS "contextId"
      FROM "Context" c JOIN "ToolCall" t ON t."runId" = c."activeRunId"
      WHERE c."deletedAt" IS NULL AND c.state->>'type' = 'AwaitingToolApproval'
        AND t.status = 'pending_approval' AND t."createdAt" <= ${cutoff}
      LIMIT ${limit}`;
    return rows.map((r) => r.contextId);
  }

  /** Extends the lease to `until`, shifted onto the database's clock (the claim wrote it the same way). */
  async renewLease(runId: string, owner: string, until: Date) {
    const ms = Math.max(0, until.getTime() - Date.now());
    const count = await this.prisma.$executeRaw`
      UPDATE "Run" SET "leaseExpiresAt" = (now() AT TIME ZONE 'UTC') + ${ms} * interval '1 millisecond'
      WHERE id = ${runId} AND "leaseOwner" = ${owner} AND status = 'processing'`;
    return count > 0;
  }
}
