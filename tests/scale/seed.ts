import { randomUUID } from 'node:crypto';
import pg from 'pg';

/**
 * Long chats, fast: one turn the app really ran (its Message, Run and Event
 * rows) copied N times into another chat with new ids, seqs, parents and
 * times, so the rows are exactly as the app writes them and the event log
 * still rebuilds to them (verify-replay checks that).
 */
export interface TemplateTurn {
  contextId: string;
  branchId: string;
  /** The context's version before the turn and after it. */
  versionDelta: number;
  messages: Record<string, unknown>[];
  run: Record<string, unknown>;
  events: Record<string, unknown>[];
}

const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g;
const ISO_EXACT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Reads the last completed turn of `contextId` (a user message, its reply and run, and the turn's events). */
export async function readTemplateTurn(db: pg.ClientBase, contextId: string, versionBefore: number): Promise<TemplateTurn> {
  const ctx = (await db.query(`SELECT "activeBranchId", version FROM "Context" WHERE id = $1`, [contextId])).rows[0];
  const run = (await db.query(`SELECT * FROM "Run" WHERE "contextId" = $1 ORDER BY "createdAt" DESC LIMIT 1`, [contextId])).rows[0];
  if (run?.status !== 'completed') throw new Error(`the template turn did not complete: run ${run?.id} is ${run?.status}`);
  const messages = (await db.query(`SELECT * FROM "Message" WHERE "runId" = $1 ORDER BY seq`, [run.id])).rows;
  const first = (await db.query(`SELECT min(seq) AS s FROM "Event" WHERE "contextId" = $1 AND "runId" = $2`, [contextId, run.id])).rows[0].s;
  const events = (await db.query(`SELECT * FROM "Event" WHERE "contextId" = $1 AND seq >= $2 ORDER BY seq`, [contextId, first])).rows;
  return { contextId, branchId: ctx.activeBranchId, versionDelta: ctx.version - versionBefore, messages, run, events };
}

/**
 * Appends `turns` copies of the template turn to the (idle) chat `contextId`,
 * each answering the previous one, the newest ending now; batches of 2,000 turns.
 */
export async function seedTurns(db: pg.ClientBase, contextId: string, template: TemplateTurn, turns: number): Promise<void> {
  const ctx = (await db.query(`SELECT "activeBranchId", "lastEventSeq", "lastMessageSeq", version FROM "Context" WHERE id = $1`, [contextId])).rows[0];
  const head = (await db.query(`SELECT "headMessageId" FROM "Branch" WHERE id = $1`, [ctx.activeBranchId])).rows[0].headMessageId as string | null;
  const text = JSON.stringify({ messages: template.messages, run: template.run, events: template.events });
  const ids = [template.contextId, template.branchId, String(template.run.id), ...template.messages.flatMap((m) => [String(m.id), ...(m.clientMessageId ? [String(m.clientMessageId)] : [])])];
  const replacements = new Map<string, string>([[template.contextId, contextId], [template.branchId, ctx.activeBranchId]]);
  const templateEnd = Math.max(...[...text.matchAll(ISO)].map((m) => Date.parse(m[0])));
  const firstEventSeq = Number(template.events[0]!.seq);
  const firstMessageSeq = Number(template.messages[0]!.seq);
  let parent = head;
  let eventSeq = Number(ctx.lastEventSeq);
  let messageSeq = Number(ctx.lastMessageSeq);
  const end = Date.now();
  for (let start = 0; start < turns; start += 2000) {
    const batch = { messages: [] as unknown[], runs: [] as unknown[], events: [] as unknown[] };
    for (let i = start; i < Math.min(turns, start + 2000); i++) {
      const tag = `${contextId.slice(-8)}${i.toString(36)}`;
      for (const id of ids.slice(2)) replacements.set(id, `${id.slice(0, 12)}${tag}`);
      // Times shifted so turn i ends (turns - i) seconds before now: the copies are in order and older than anything new.
      const shift = end - (turns - i) * 1000 - templateEnd;
      const copy = JSON.parse(text, (_key, value: unknown) =>
        typeof value !== 'string' ? value : replacements.get(value) ?? (ISO_EXACT.test(value) ? new Date(Date.parse(value) + shift).toISOString() : value),
      ) as Pick<TemplateTurn, 'messages' | 'run' | 'events'>;
      const seqOf = new Map(copy.messages.map((m) => [m.id as string, messageSeq + Number(m.seq) - firstMessageSeq + 1]));
      const userId = copy.messages.find((m) => m.role === 'user')!.id as string;
      for (const m of copy.messages) {
        m.seq = seqOf.get(m.id as string);
        if (m.id === userId) m.parentId = parent;
      }
      for (const e of copy.events) {
        e.seq = eventSeq + Number(e.seq) - firstEventSeq + 1;
        const message = (e.payload as { message?: { id: string; seq: number; parentId: string | null } }).message;
        if (e.type === 'message.created' && message) {
          message.seq = seqOf.get(message.id)!;
          if (message.id === userId) message.parentId = parent;
        }
      }
      parent = copy.messages.find((m) => m.role === 'assistant')!.id as string;
      messageSeq += copy.messages.length;
      eventSeq += copy.events.length;
      batch.messages.push(...copy.messages);
      batch.runs.push(copy.run);
      batch.events.push(...copy.events);
    }
    await db.query(`INSERT INTO "Message" SELECT * FROM json_populate_recordset(null::"Message", $1)`, [JSON.stringify(batch.messages)]);
    await db.query(`INSERT INTO "Run" SELECT * FROM json_populate_recordset(null::"Run", $1)`, [JSON.stringify(batch.runs)]);
    await db.query(`INSERT INTO "Event" SELECT * FROM json_populate_recordset(null::"Event", $1)`, [JSON.stringify(batch.events)]);
  }
  await db.query(`UPDATE "Branch" SET "headMessageId" = $2 WHERE id = $1`, [ctx.activeBranchId, parent]);
  await db.query(`UPDATE "Context" SET "lastEventSeq" = $2, "lastMessageSeq" = $3, version = version + $4, "updatedAt" = now() WHERE id = $1`, [
    contextId,
    eventSeq,
    messageSeq,
    template.versionDelta * turns,
  ]);
}

/**
 * `count` copies of the empty chat `contextId` (created through the app and
 * never sent to): its Context row, its Branch and its events, with new ids,
 * in batches of 1,000, all in one transaction. Returns the new contexts' ids.
 */
export async function cloneContexts(db: pg.ClientBase, contextId: string, count: number): Promise<string[]> {
  const context = (await db.query(`SELECT * FROM "Context" WHERE id = $1`, [contextId])).rows[0];
  if (!context) throw new Error(`no context ${contextId}`);
  if (Number(context.lastMessageSeq) !== 0 || context.activeRunId !== null) throw new Error(`the template context ${contextId} is not empty and idle`);
  const branches = (await db.query(`SELECT * FROM "Branch" WHERE "contextId" = $1`, [contextId])).rows;
  const events = (await db.query(`SELECT * FROM "Event" WHERE "contextId" = $1 ORDER BY seq`, [contextId])).rows;
  const text = JSON.stringify({ context, branches, events });
  const ids = [contextId, ...branches.map((b) => String(b.id))];
  const created: string[] = [];
  await db.query('BEGIN');
  try {
    for (let start = 0; start < count; start += 1000) {
      const batch = { contexts: [] as unknown[], branches: [] as unknown[], events: [] as unknown[] };
      for (let i = start; i < Math.min(count, start + 1000); i++) {
        // Ids of the app's shape (`ctx_` / `br_` and 32 hex digits), unique per copy.
        const replacements = new Map(ids.map((id) => [id, `${id.slice(0, id.indexOf('_') + 1)}${randomUUID().replaceAll('-', '')}`]));
        const copy = JSON.parse(text, (_key, value: unknown) => (typeof value === 'string' ? replacements.get(value) ?? value : value)) as {
          context: Record<string, unknown>;
          branches: Record<string, unknown>[];
          events: Record<string, unknown>[];
        };
        created.push(String(copy.context.id));
        batch.contexts.push(copy.context);
        batch.branches.push(...copy.branches);
        batch.events.push(...copy.events);
      }
      await db.query(`INSERT INTO "Context" SELECT * FROM json_populate_recordset(null::"Context", $1)`, [JSON.stringify(batch.contexts)]);
      await db.query(`INSERT INTO "Branch" SELECT * FROM json_populate_recordset(null::"Branch", $1)`, [JSON.stringify(batch.branches)]);
      await db.query(`INSERT INTO "Event" SELECT * FROM json_populate_recordset(null::"Event", $1)`, [JSON.stringify(batch.events)]);
    }
    await db.query('COMMIT');
  } catch (error) {
    await db.query('ROLLBACK');
    throw error;
  }
  return created;
}
