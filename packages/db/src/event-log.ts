import type { ContextEvent } from '@chat/core';
import type pg from 'pg';

/**
 * Reads a context's event log after a seq, in order: the hottest read (every
 * notification a process delivers, every subscription's catch-up), so it goes
 * straight through the pool. An index range scan on the (contextId, seq) key.
 */
export async function readEvents(pool: pg.Pool, contextId: string, afterSeq: number, limit: number): Promise<ContextEvent[]> {
  const { rows } = await pool.query<{ seq: number; type: string; payload: unknown; createdAt: string }>(
    `SELECT seq, type, payload, to_char("createdAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt"
     FROM "Event" WHERE "contextId" = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
    [contextId, afterSeq, limit],
  );
  return rows.map((r) => ({ contextId, seq: r.seq, type: r.type, payload: r.payload, createdAt: new Date(r.createdAt) }) as ContextEvent);
}
