import type { RunQueue } from '@chat/core';
import type pg from 'pg';

/** Runs of an owner that a worker holds right now (processing under a lease). */
export const RUNNING_OF_OWNER = (owner: string) =>
  `SELECT count(*) FROM "Run" rr JOIN "Context" cc ON cc.id = rr."contextId"
   WHERE cc."ownerId" = ${owner} AND rr.status = 'processing' AND rr."leaseOwner" IS NOT NULL`;

/** UTC wall time as the timestamp(3) columns store it, rendered so JavaScript reads it as UTC. */
const UTC_NOW = `(now() AT TIME ZONE 'UTC')`;

/**
 * The queries a worker uses to find work (DESIGN §7); claiming itself goes
 * through the aggregate. Every instance runs them every poll and sweep, so
 * they go straight through the pool (no ORM cost on an idle server).
 */
export class PrismaRunQueue implements RunQueue {
  constructor(private readonly pool: pg.Pool) {}

  /** Only models this process can run (the provider before ':'), and not of owners already at their run limit. */
  async findClaimable(limit: number, providers: string[], maxRunningPerOwner?: number) {
    const { rows } = await this.pool.query<{ contextId: string; runId: string; model: string }>(
      `SELECT r."contextId" AS "contextId", r.id AS "runId", c.model AS model
       FROM "Run" r JOIN "Context" c ON c."activeRunId" = r.id
       WHERE c."deletedAt" IS NULL
         AND split_part(c.model, ':', 1) = ANY($1::text[])
         AND c.state->>'type' IN ('ProcessingUserMessage', 'ExecutingTools')
         AND (r.status = 'pending' OR (r.status = 'processing' AND r."leaseOwner" IS NULL))
         AND ($3::int IS NULL OR (${RUNNING_OF_OWNER('c."ownerId"')}) < $3::int)
       ORDER BY r."createdAt"
       LIMIT $2`,
      [providers, limit, maxRunningPerOwner ?? null],
    );
    return rows;
  }

  /** Expiry by the database's clock, so instances with skewed clocks agree on who is dead. */
  async findExpiredLeases(limit: number) {
    const { rows } = await this.pool.query<{ contextId: string | null; runId: string | null; now: string }>(
      `WITH clock AS (SELECT ${UTC_NOW} AS now)
       SELECT r."contextId" AS "contextId", r.id AS "runId", to_char(clock.now, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS now
       FROM clock LEFT JOIN LATERAL (
         SELECT "contextId", id, "leaseExpiresAt" FROM "Run"
         WHERE status = 'processing' AND "leaseOwner" IS NOT NULL AND "leaseExpiresAt" < clock.now
         ORDER BY "leaseExpiresAt" LIMIT $1
       ) r ON true`,
      [limit],
    );
    const now = new Date(rows[0]?.now ?? Date.now());
    return { now, runs: rows.flatMap((r) => (r.contextId && r.runId ? [{ contextId: r.contextId, runId: r.runId }] : [])) };
  }

  async findExpiredApprovals(cutoff: Date, limit: number) {
    const { rows } = await this.pool.query<{ contextId: string }>(
      `SELECT DISTINCT c.id AS "contextId"
       FROM "Context" c JOIN "ToolCall" t ON t."runId" = c."activeRunId"
       WHERE c."deletedAt" IS NULL AND c.state->>'type' = 'AwaitingToolApproval'
         AND t.status = 'pending_approval' AND t."createdAt" <= $1::timestamp
       LIMIT $2`,
      [cutoff.toISOString(), limit],
    );
    return rows.map((r) => r.contextId);
  }

  /** Extends the lease to `until`, shifted onto the database's clock (the claim wrote it the same way). */
  async renewLease(runId: string, owner: string, until: Date) {
    const ms = Math.max(0, until.getTime() - Date.now());
    const { rowCount } = await this.pool.query(
      `UPDATE "Run" SET "leaseExpiresAt" = ${UTC_NOW} + $1 * interval '1 millisecond'
       WHERE id = $2 AND "leaseOwner" = $3 AND status = 'processing'`,
      [ms, runId, owner],
    );
    return (rowCount ?? 0) > 0;
  }
}
