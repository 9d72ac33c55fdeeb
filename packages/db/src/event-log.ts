import type { ContextEvent } from '@chat/core';
import type pg from 'pg';

/**
 * Reads a context's event log after a seq, in order: the hottest read (every
 * notification a process delivers, every subscription's catch-up), so it goes
 * straight through the pool. An index range scan on the (contextId, seq) key.
 */
export async function readEvents(pool: pg.Pool, contextId: string, afterSeq: number, limit: number): Promise<ContextEvent[]> {
  const { rows } = await pool.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM "Event" WHERE "contextId" = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
    [contextId, afterSeq, limit],
  );
  return rows.map((r) => toEvent(contextId, r));
}

/** The events about a run (its own and those of its messages and tool calls): an index range read by runId. */
export async function readRunEvents(pool: pg.Pool, contextId: string, runId: string): Promise<ContextEvent[]> {
  const { rows } = await pool.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM "Event" WHERE "runId" = $1 AND "contextId" = $2 ORDER BY seq`, [runId, contextId]);
  return rows.map((r) => toEvent(contextId, r));
}

const EVENT_COLUMNS = `seq, type, payload, to_char("createdAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt"`;
type EventRow = { seq: number; type: string; payload: unknown; createdAt: string };
const toEvent = (contextId: string, r: EventRow) => ({ contextId, seq: r.seq, type: r.type, payload: r.payload, createdAt: new Date(r.createdAt) }) as ContextEvent;
