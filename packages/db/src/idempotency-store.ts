import type { PrismaClient } from './generated/prisma/client.ts';

export interface StoredIdempotency {
  requestHash: string;
  status: string;
  response: unknown;
  expiresAt: Date;
}

/** Reads and purges idempotency records; they are written by the repository's save, with the action. */
export class IdempotencyStore {
  constructor(private readonly prisma: PrismaClient) {}

  async find(ownerId: string, procedure: string, key: string): Promise<StoredIdempotency | null> {
    return this.prisma.idempotencyRecord.findUnique({
      where: { ownerId_procedure_key: { ownerId, procedure, key } },
      select: { requestHash: true, status: true, response: true, expiresAt: true },
    });
  }

  async delete(ownerId: string, procedure: string, key: string) {
    await this.prisma.idempotencyRecord.deleteMany({ where: { ownerId, procedure, key } });
  }

  async purgeExpired(now: Date): Promise<number> {
    const { count } = await this.prisma.idempotencyRecord.deleteMany({ where: { expiresAt: { lte: now } } });
    return count;
  }
}
