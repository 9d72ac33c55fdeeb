import type pg from 'pg';
import type { PrismaClient } from './generated/prisma/client.ts';

export interface StoredIdempotency {
  requestHash: string;
  status: string;
  response: unknown;
  expiresAt: Date;
}

/** Reads and purges idempotency records; they are written by the repository's save, with the action. */
export class IdempotencyStore {
  constructor(
    private readonly prisma: PrismaClient,
    /** The hot lookup (every keyed action) goes straight through the pool. */
    private readonly pool: pg.Pool,
  ) {}

  async find(ownerId: string, procedure: string, key: string): Promise<StoredIdempotency | null> {
    const { rows } = await this.pool.query<{ requestHash: string; status: string; response: unknown; expiresAt: string }>(
      `SELECT "requestHash", status, response, to_char("expiresAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "expiresAt"
       FROM "IdempotencyRecord" WHERE "ownerId" = $1 AND procedure = $2 AND key = $3`,
      [ownerId, procedure, key],
    );
    const row = rows[0];
    return row ? { ...row, expiresAt: new Date(row.expiresAt) } : null;
  }

  async delete(ownerId: string, procedure: string, key: string) {
    await this.prisma.idempotencyRecord.deleteMany({ where: { ownerId, procedure, key } });
  }

  async purgeExpired(now: Date): Promise<number> {
    const { count } = await this.prisma.idempotencyRecord.deleteMany({ where: { expiresAt: { lte: now } } });
    return count;
  }
}
