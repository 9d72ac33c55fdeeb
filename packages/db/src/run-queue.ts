import type { RunQueue } from '@chat/core';
import type { PrismaClient } from './generated/prisma/client.ts';

/** The queries a worker uses to find work (DESIGN §7). Claiming itself goes through the aggregate. */
export class PrismaRunQueue implements RunQueue {
  constructor(private readonly prisma: PrismaClient) {}

  async findClaimable(limit: number) {
    return this.prisma.$queryRaw<{ contextId: string; runId: string; model: string }[]>`
      SELECT r."contextId" AS "contextId", r.id AS "runId", c.model AS model
      FROM "Run" r JOIN "Context" c ON c."activeRunId" = r.id
      WHERE c."deletedAt" IS NULL
        AND c.state->>'type' IN ('ProcessingUserMessage', 'ExecutingTools')
        AND (r.status = 'pending' OR (r.status = 'processing' AND r."leaseOwner" IS NULL))
      ORDER BY r."createdAt"
      LIMIT ${limit}`;
  }

  async findExpiredLeases(now: Date, limit: number) {
    return this.prisma.$queryRaw<{ contextId: string; runId: string }[]>`
      SELECT "contextId", id AS "runId" FROM "Run"
      WHERE status = 'processing' AND "leaseOwner" IS NOT NULL AND "leaseExpiresAt" < ${now}
      ORDER BY "leaseExpiresAt"
      LIMIT ${limit}`;
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

  async renewLease(runId: string, owner: string, until: Date) {
    const { count } = await this.prisma.run.updateMany({
      where: { id: runId, leaseOwner: owner, status: 'processing' },
      data: { leaseExpiresAt: until },
    });
    return count > 0;
  }
}
