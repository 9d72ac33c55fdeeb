// The baseline of `npm run bench`: the durable steps of one chat turn written
// with raw `pg` and nothing else, against the real tables of
// prisma/schema.prisma (its own ownerId and model, so no product worker ever
// claims its runs). It is the physical limit of this design on this database:
//
//   accept (API):   BEGIN; bump the context row (version, seqs, state, active run)
//                   RETURNING the seqs; INSERT user message; INSERT run (pending);
//                   INSERT 2 events; pg_notify (w: true); COMMIT              7 statements
//   claim (worker): BEGIN; UPDATE run SET processing + lease WHERE id = (SELECT ...
//                   FOR UPDATE SKIP LOCKED) RETURNING; bump the context; INSERT
//                   assistant message (streaming); INSERT 2 events; pg_notify; COMMIT   7
//   reply (worker): BEGIN; UPDATE message (text, complete); UPDATE run (completed,
//                   lease cleared); bump the context (Idle); INSERT 2 events;
//                   pg_notify; COMMIT                                          7
//
// 21 statements (12 of them writing rows) in 3 transactions per turn. The worker is woken by LISTEN on a
// separate connection (the notification itself, no poll hop); the same
// connection tells the sender its run completed (from the payload, no read).
// The reply text comes from the local model's own stream (doStream, no AI SDK).
import { randomUUID } from 'node:crypto';
import type { LanguageModelV3CallOptions } from '@ai-sdk/provider';
import pg from 'pg';
import { createLocalModel } from '../../packages/api/src/models/local-model.ts';

export const RAW_OWNER = 'bench-raw';
/** A statement that writes rows, also inside a CTE (`WITH x AS (UPDATE ...)`); not `FOR UPDATE`. */
export const WRITE_SQL = /\bINSERT\s+INTO\b|\bDELETE\s+FROM\b|(?<!\bFOR\s+(NO\s+KEY\s+)?)\bUPDATE\s+(?!SKIP\b|NOWAIT\b|OF\b)/i;
const CHANNEL = 'bench_raw';
const MODEL = 'raw:bench';

export interface RawPipeline {
  /** Creates `n` contexts (Context + Branch rows); returns their ids. */
  createChats(n: number): Promise<string[]>;
  /** Accepts a user message (transaction 1) and resolves when its run completed, with the accept's duration. */
  turn(contextId: string, content: string, timeoutMs: number): Promise<{ acceptMs: number }>;
  /** Statements, BEGINs and row-writing statements this pipeline sent (all connections). */
  counts(): { statements: number; transactions: number; writes: number };
  /** Stops the worker, deletes every row it wrote, closes its connections. */
  stop(): Promise<void>;
}

const ids = (kind: string) => `${kind}_${randomUUID().replaceAll('-', '')}`;

export async function startRawPipeline(
  databaseUrl: string,
  opts: { poolMax?: number; maxConcurrentRuns?: number; leaseMs?: number } = {},
): Promise<RawPipeline> {
  const counts = { statements: 0, transactions: 0, writes: 0 };
  const pool = new pg.Pool({ connectionString: databaseUrl, max: opts.poolMax ?? 10 });
  pool.on('error', () => {});
  const maxRuns = opts.maxConcurrentRuns ?? 32;
  const leaseMs = opts.leaseMs ?? 15_000;
  const owner = `raw:${process.pid}:${randomUUID().slice(0, 8)}`;
  const model = createLocalModel({ tokenDelayMs: 0 });

  const q = (c: pg.PoolClient | pg.Pool, text: string, values?: unknown[]) => {
    counts.statements++;
    if (text === 'BEGIN') counts.transactions++;
    if (WRITE_SQL.test(text)) counts.writes++;
    return c.query(text, values);
  };
  async function tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await pool.connect();
    try {
      await q(c, 'BEGIN');
      const result = await fn(c);
      await q(c, 'COMMIT');
      return result;
    } catch (error) {
      await c.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      c.release();
    }
  }
  /** The context row is the per-chat lock: bump it first, get the seqs to use. */
  async function bump(c: pg.PoolClient, contextId: string, events: number, messages: number, state: string, activeRunId: string | null) {
    const { rows } = await q(
      c,
      `UPDATE "Context" SET version = version + 1, "lastEventSeq" = "lastEventSeq" + $2, "lastMessageSeq" = "lastMessageSeq" + $3,
         state = $4::jsonb, "activeRunId" = $5, "updatedAt" = now()
       WHERE id = $1 RETURNING version, "lastEventSeq" AS e, "lastMessageSeq" AS m, "activeBranchId" AS b`,
      [contextId, events, messages, state, activeRunId],
    );
    const row = rows[0] as { version: number; e: number; m: number; b: string };
    return { version: row.version, firstEvent: row.e - events + 1, firstMessage: row.m - messages + 1, branchId: row.b };
  }
  const events = (c: pg.PoolClient, contextId: string, first: number, list: [string, unknown][]) =>
    q(
      c,
      `INSERT INTO "Event" ("contextId", seq, type, payload) SELECT $1, $2::int + o - 1, t, p
       FROM unnest($3::text[], $4::jsonb[]) WITH ORDINALITY AS x(t, p, o)`,
      [contextId, first, list.map(([t]) => t), list.map(([, p]) => JSON.stringify(p))],
    );
  const notify = (c: pg.PoolClient, payload: object) => q(c, `SELECT pg_notify($1, $2)`, [CHANNEL, JSON.stringify(payload)]);

  // Sender side: runs waiting for their completion notification.
  const waiting = new Map<string, () => void>();
  const completed = new Set<string>();

  // Worker: woken by a notification with w=true; claims while it has capacity.
  let active = 0;
  let stopped = false;
  const inFlight = new Set<Promise<void>>();

  async function claim() {
    return tx(async (c) => {
      const messageId = ids('msg');
      const { rows } = await q(
        c,
        `UPDATE "Run" r SET status = 'processing', "leaseOwner" = $1, "leaseExpiresAt" = now() + $2 * interval '1 millisecond',
           "startedAt" = now(), "responseMessageId" = $3
         WHERE r.id = (
           SELECT r2.id FROM "Run" r2 JOIN "Context" c ON c."activeRunId" = r2.id
           WHERE r2.status = 'pending' AND c.model = $4 AND c."deletedAt" IS NULL
           ORDER BY r2."createdAt" LIMIT 1 FOR UPDATE OF r2 SKIP LOCKED)
         RETURNING r.id, r."contextId", r."triggerMessageId", (SELECT parts FROM "Message" m WHERE m.id = r."triggerMessageId") AS parts`,
        [owner, leaseMs, messageId, MODEL],
      );
      const run = rows[0] as { id: string; contextId: string; triggerMessageId: string; parts: { text: string }[] } | undefined;
      if (!run) return null;
      const b = await bump(c, run.contextId, 2, 1, JSON.stringify({ type: 'RawProcessing', runId: run.id }), run.id);
      await q(
        c,
        `INSERT INTO "Message" (id, "contextId", "branchId", "parentId", seq, role, parts, status, "runId")
         VALUES ($1, $2, $3, $4, $5, 'assistant', '[]', 'streaming', $6)`,
        [messageId, run.contextId, b.branchId, run.triggerMessageId, b.firstMessage, run.id],
      );
      await events(c, run.contextId, b.firstEvent, [
        ['run.started', { runId: run.id }],
        ['message.created', { messageId, runId: run.id }],
      ]);
      await notify(c, { c: run.contextId, f: b.firstEvent, s: b.firstEvent + 1, w: false });
      return { runId: run.id, contextId: run.contextId, messageId, text: run.parts.map((p) => p.text).join('\n') };
    });
  }

  async function execute(run: { runId: string; contextId: string; messageId: string; text: string }) {
    // The model's reply, streamed and collected (deltas are ephemeral: no rows).
    const { stream } = await model.doStream({
      prompt: [{ role: 'user', content: [{ type: 'text', text: run.text }] }],
    } as LanguageModelV3CallOptions);
    let reply = '';
    const reader = stream.getReader();
    for (let i = 0; i < 100_000; i++) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.type === 'text-delta') reply += value.delta;
    }
    await tx(async (c) => {
      await q(c, `UPDATE "Message" SET parts = $2::jsonb, status = 'complete', "updatedAt" = now() WHERE id = $1`, [
        run.messageId,
        JSON.stringify([{ type: 'text', text: reply }]),
      ]);
      await q(
        c,
        `UPDATE "Run" SET status = 'completed', "completedAt" = now(), "leaseOwner" = NULL, "leaseExpiresAt" = NULL WHERE id = $1`,
        [run.runId],
      );
      const b = await bump(c, run.contextId, 2, 0, '{"type":"Idle"}', null);
      await events(c, run.contextId, b.firstEvent, [
        ['message.completed', { messageId: run.messageId }],
        ['run.completed', { runId: run.runId }],
      ]);
      await notify(c, { c: run.contextId, f: b.firstEvent, s: b.firstEvent + 1, w: false, done: run.runId });
    });
  }

  /** One claim per work notification (each accepted run sends one); owed claims wait for capacity. */
  let owed = 0;
  function start(run: { runId: string; contextId: string; messageId: string; text: string }) {
    active++;
    const p: Promise<void> = execute(run)
      .catch((error) => console.error('raw pipeline run failed', error))
      .finally(() => {
        active--;
        inFlight.delete(p);
        if (owed > 0 && !stopped) {
          owed--;
          void claimNow();
        }
      });
    inFlight.add(p);
  }
  async function claimNow() {
    if (stopped) return;
    if (active >= maxRuns) {
      owed++;
      return;
    }
    const run = await claim().catch((error) => (console.error('raw pipeline claim failed', error), null));
    if (run) start(run);
  }
  /** Fallback poll: claims until nothing is claimable or capacity is reached (bounded by maxRuns). */
  async function drain() {
    if (draining) return;
    draining = true;
    try {
      while (!stopped && active < maxRuns) {
        const run = await claim().catch(() => null);
        if (!run) break;
        start(run);
      }
    } finally {
      draining = false;
    }
  }
  let draining = false;

  const listener = new pg.Client({ connectionString: databaseUrl });
  listener.on('error', () => {});
  listener.on('notification', (msg) => {
    const n = JSON.parse(msg.payload ?? '{}') as { w?: boolean; done?: string };
    if (n.w) void claimNow();
    if (n.done) {
      completed.add(n.done);
      waiting.get(n.done)?.();
    }
  });
  await listener.connect();
  await listener.query(`LISTEN ${CHANNEL}`);
  // Fallback poll, as the product has one (bounded by stop()).
  const poll = setInterval(() => void drain(), 1000);

  return {
    async createChats(n) {
      const created: string[] = [];
      for (let i = 0; i < n; i++) {
        const id = ids('ctx');
        const branchId = ids('br');
        await pool.query(
          `WITH c AS (INSERT INTO "Context" (id, "ownerId", title, model, state, "activeBranchId", "updatedAt")
                      VALUES ($1, $3, 'raw', $4, '{"type":"Idle"}', $2, now()) RETURNING id)
           INSERT INTO "Branch" (id, "contextId", name) SELECT $2, id, 'main' FROM c`,
          [id, branchId, RAW_OWNER, MODEL],
        );
        created.push(id);
      }
      return created;
    },

    async turn(contextId, content, timeoutMs) {
      const runId = ids('run');
      const messageId = ids('msg');
      let resolve!: () => void;
      const done = new Promise<void>((r) => (resolve = r));
      waiting.set(runId, resolve);
      const t0 = performance.now();
      try {
        await tx(async (c) => {
          const b = await bump(c, contextId, 2, 1, JSON.stringify({ type: 'RawProcessing', runId }), runId);
          await q(
            c,
            `INSERT INTO "Message" (id, "contextId", "branchId", seq, role, parts, status, "runId")
             VALUES ($1, $2, $3, $4, 'user', $5::jsonb, 'complete', $6)`,
            [messageId, contextId, b.branchId, b.firstMessage, JSON.stringify([{ type: 'text', text: content }]), runId],
          );
          await q(
            c,
            `INSERT INTO "Run" (id, "contextId", "branchId", "triggerMessageId", status) VALUES ($1, $2, $3, $4, 'pending')`,
            [runId, contextId, b.branchId, messageId],
          );
          await events(c, contextId, b.firstEvent, [
            ['message.created', { messageId }],
            ['run.queued', { runId }],
          ]);
          await notify(c, { c: contextId, f: b.firstEvent, s: b.firstEvent + 1, w: true });
        });
        const acceptMs = performance.now() - t0;
        if (completed.has(runId)) return { acceptMs };
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          done,
          new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`raw run ${runId} timed out`)), timeoutMs))),
        ]).finally(() => clearTimeout(timer));
        return { acceptMs };
      } finally {
        waiting.delete(runId);
        completed.delete(runId);
      }
    },

    counts: () => ({ ...counts }),

    async stop() {
      stopped = true;
      clearInterval(poll);
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, 10_000))]);
      await listener.end().catch(() => {});
      await pool.query(`DELETE FROM "Context" WHERE "ownerId" = $1`, [RAW_OWNER]).catch(() => {});
      await pool.end();
    },
  };
}
