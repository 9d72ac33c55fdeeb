import type { ContextRecord } from '@chat/core';
import type { PrismaClient } from './generated/prisma/client.ts';
import { toContext } from './mappers.ts';

/**
 * Searching one owner's chats: a chat matches when its title or the text of
 * any of its messages contains the query (case-insensitive substring; the
 * trigram indexes of migration 20261202110000_context_search serve it).
 * Results are ordered like `listContexts` (newest activity first) and paged
 * by the same keyset, (updatedAt, id) after the cursor's chat. Only the
 * owner's live chats are ever read: another user's chats never match.
 */
export class ContextSearch {
  constructor(private readonly prisma: PrismaClient) {}

  async search(ownerId: string, query: string, limit: number, cursor?: string): Promise<{ items: ContextRecord[]; nextCursor: string | null }> {
    const pattern = `%${escapeLike(query.trim())}%`;
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT c.id FROM "Context" c
      WHERE c."ownerId" = ${ownerId} AND c."deletedAt" IS NULL
        AND (${cursor ?? null}::text IS NULL OR (c."updatedAt", c.id) < (SELECT a."updatedAt", a.id FROM "Context" a WHERE a.id = ${cursor ?? null} AND a."ownerId" = ${ownerId}))
        AND (
          c.title ILIKE ${pattern}
          OR EXISTS (SELECT 1 FROM "Message" m WHERE m."contextId" = c.id AND chat_message_text(m.parts) ILIKE ${pattern})
        )
      ORDER BY c."updatedAt" DESC, c.id DESC
      LIMIT ${limit + 1}`;
    const ids = rows.slice(0, limit).map((r) => r.id);
    const found = await this.prisma.context.findMany({ where: { id: { in: ids } } });
    const byId = new Map(found.map((row) => [row.id, toContext(row)]));
    const items = ids.flatMap((id) => byId.get(id) ?? []);
    return { items, nextCursor: rows.length > limit ? ids.at(-1)! : null };
  }
}

/** The query is text, not a pattern: `%`, `_` and `\` match themselves. */
const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);
