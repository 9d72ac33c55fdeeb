import type { PrismaClient } from '@chat/db';
import type pg from 'pg';
import { notFound } from '@chat/core';
import { createHash, randomBytes, randomUUID } from 'node:crypto';

const PREFIX = 'chat_';
/** A token's last use is written at most this often (a token used per request must not write per request). */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface ApiTokenView {
  id: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

const hashOf = (secret: string) => createHash('sha256').update(secret).digest('hex');
const view = (t: ApiTokenView): ApiTokenView => ({ id: t.id, name: t.name, prefix: t.prefix, createdAt: t.createdAt, lastUsedAt: t.lastUsedAt });

/** A well-formed token: the prefix and 43 base64url characters (32 random bytes). */
export const TOKEN_FORMAT = /^chat_[A-Za-z0-9_-]{43}$/;

/**
 * API tokens for other apps (`Authorization: Bearer <token>`): the secret is
 * shown once, only its SHA-256 is stored, a revoked token is refused at once.
 */
export class ApiTokens {
  constructor(
    private readonly prisma: PrismaClient,
    /** `verify` runs on every request: straight through the pool. */
    private readonly pool: pg.Pool,
  ) {}

  async create(userId: string, name: string): Promise<{ token: string; apiToken: ApiTokenView }> {
    const token = PREFIX + randomBytes(32).toString('base64url');
    const row = await this.prisma.apiToken.create({
      data: { id: `tok_${randomUUID().replaceAll('-', '')}`, userId, name, prefix: token.slice(0, PREFIX.length + 6), hash: hashOf(token) },
    });
    return { token, apiToken: view(row) };
  }

  async list(userId: string): Promise<ApiTokenView[]> {
    const rows = await this.prisma.apiToken.findMany({ where: { userId, revokedAt: null }, orderBy: { createdAt: 'desc' }, take: 200 });
    return rows.map(view);
  }

  async revoke(userId: string, id: string): Promise<void> {
    const { count } = await this.prisma.apiToken.updateMany({ where: { id, userId, revokedAt: null }, data: { revokedAt: new Date() } });
    if (count === 0) throw notFound('apiToken', id);
  }

  /** The user a token belongs to, or null (unknown, malformed or revoked). */
  async verify(token: string): Promise<string | null> {
    if (!TOKEN_FORMAT.test(token)) return null;
    const { rows } = await this.pool.query<{ id: string; userId: string; stale: boolean }>(
      `SELECT id, "userId", ("lastUsedAt" IS NULL OR "lastUsedAt" < (now() AT TIME ZONE 'UTC') - $2 * interval '1 millisecond') AS stale
       FROM "ApiToken" WHERE hash = $1 AND "revokedAt" IS NULL`,
      [hashOf(token), LAST_USED_RESOLUTION_MS],
    );
    const row = rows[0];
    if (!row) return null;
    if (row.stale) {
      void this.pool.query(`UPDATE "ApiToken" SET "lastUsedAt" = now() AT TIME ZONE 'UTC' WHERE id = $1`, [row.id]).catch(() => {});
    }
    return row.userId;
  }
}
