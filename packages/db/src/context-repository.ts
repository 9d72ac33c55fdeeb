import {
  ConcurrencyError,
  ContextAggregate,
  DomainError,
  type Budget,
  notFound,
  type Clock,
  type ContextRepository,
  type ContextView,
  type HistoryWindow,
  type IdempotencyWrite,
  type LoadOptions,
  type MessageRecord,
  type TransactOptions,
  type Transacted,
} from '@chat/core';
import pg from 'pg';
import { KeyedLock } from './keyed-lock.ts';
import { fromJsonRow, fromMessageRow, messageSelect, toBranch, toContext, toMessage, toRun, toToolCall, type MessageRow } from './mappers.ts';
import { RUNNING_OF_OWNER } from './run-queue.ts';
import { buildSaveStatement } from './save-statement.ts';

const OPEN_RUN_STATUSES = ['pending', 'processing', 'awaiting_approval'];

type JsonRow = { id: string } & Record<string, unknown>;
interface SnapshotRow {
  context: JsonRow | null;
  branches: JsonRow[];
  runs: JsonRow[];
  messages: JsonRow[];
  toolCalls: JsonRow[];
}

/**
 * One statement, so one consistent snapshot: the context row and the runs it
 * names come from the same moment (separate reads could see a run finish in
 * between and leave the state pointing at a run not loaded). Every part is an
 * index lookup: open runs by (contextId, status), their messages by runId,
 * queued questions by a partial index, triggers and named rows by primary
 * key, so a load costs what the aggregate holds, not the chat's length.
 * Sets of ids travel as arrays (`= ANY(ARRAY(SELECT ...))`), not as `IN
 * (subquery)` joins: in a chat of thousands of runs the planner would hash
 * all of them for a join, where the array is a handful of index lookups
 * (tests/scale/bounded-reads.test.ts).
 */
const LOAD_SQL = `
  WITH ctx AS (SELECT * FROM "Context" WHERE id = $1 AND "deletedAt" IS NULL),
  extra_messages AS (
    SELECT id, "runId" FROM "Message" WHERE "contextId" = $1 AND id = ANY($3::text[])
    UNION
    SELECT id, "runId" FROM "Message" WHERE "contextId" = $1 AND "clientMessageId" = ANY($5::text[])
  ),
  run_ids AS (
    SELECT id FROM "Run" WHERE "contextId" = $1 AND status = ANY($2::text[])
    UNION
    SELECT id FROM "Run" WHERE "contextId" = $1 AND id = ANY($4::text[] || ARRAY(SELECT "runId" FROM extra_messages WHERE "runId" IS NOT NULL))
  ),
  runs AS (SELECT * FROM "Run" WHERE id = ANY(ARRAY(SELECT id FROM run_ids))),
  message_ids AS (
    SELECT id FROM "Message" WHERE "runId" = ANY(ARRAY(SELECT id FROM run_ids))
    UNION
    SELECT "triggerMessageId" FROM runs
    UNION
    SELECT id FROM extra_messages
    UNION
    SELECT id FROM "Message" WHERE "contextId" = $1 AND status = 'queued'
  )
  SELECT
    (SELECT row_to_json(ctx) FROM ctx) AS context,
    (SELECT coalesce(json_agg(b), '[]') FROM "Branch" b WHERE b."contextId" = $1) AS branches,
    (SELECT coalesce(json_agg(r), '[]') FROM runs r) AS runs,
    (SELECT coalesce(json_agg(m), '[]') FROM "Message" m WHERE m.id = ANY(ARRAY(SELECT id FROM message_ids)) AND m."contextId" = $1) AS messages,
    (SELECT coalesce(json_agg(t), '[]') FROM "ToolCall" t WHERE t."runId" = ANY(ARRAY(SELECT id FROM run_ids))) AS "toolCalls"`;

type Queryable = Pick<pg.PoolClient, 'query'>;

interface Locked {
  version: number;
  clientMessageFound: boolean;
}

/**
 * The statement that takes the context row's lock for the transaction and
 * returns its version and whether a message with one of `clientMessageIds`
 * exists (so a cached aggregate, which holds only recent rows, can answer a
 * lookup that finds nothing). No rows: the context is gone (or, with
 * `skipLocked`, another writer holds it). Values are inlined as escaped
 * literals so it can travel with BEGIN in one round trip.
 */
function lockStatement(contextId: string, skipLocked: boolean, clientMessageIds: string[] = []): string {
  const id = pg.escapeLiteral(contextId);
  const found = clientMessageIds.length
    ? `, EXISTS (SELECT 1 FROM "Message" WHERE "contextId" = ${id} AND "clientMessageId" = ANY(ARRAY[${clientMessageIds
        .map((c) => pg.escapeLiteral(c))
        .join(', ')}]::text[])) AS found`
    : '';
  return `SELECT version${found} FROM "Context" WHERE id = ${id} AND "deletedAt" IS NULL FOR UPDATE${skipLocked ? ' SKIP LOCKED' : ''}`;
}

/**
 * Whether the context's owner has fewer than `max` runs processing, counted
 * under a transaction-scoped advisory lock per owner (so two instances
 * claiming for one owner at once cannot both pass): two statements that
 * travel with BEGIN and the row lock in one round trip, the owner read from
 * the context row in SQL. The last one returns `room`.
 */
function ownerRoomStatements(contextId: string, max: number): string[] {
  const owner = `(SELECT "ownerId" FROM "Context" WHERE id = ${pg.escapeLiteral(contextId)})`;
  return [`SELECT pg_advisory_xact_lock(hashtext('runs-of-owner'), hashtext(${owner}))`, `SELECT (${RUNNING_OF_OWNER(owner)}) < ${Math.trunc(max)} AS room`];
}

const lockedRow = (result: pg.QueryResult<{ version: number; found?: boolean }>): Locked | null => {
  const row = result.rows[0];
  return row ? { version: row.version, clientMessageFound: row.found ?? false } : null;
};

/**
 * Spends one use of a budget: a fixed-window counter in rate-limiter-flexible's
 * table and row format (key, points, expire in ms), upserted in the change's
 * own transaction, so a limited change writes nothing (its use rolls back
 * with it) and an accepted one costs no extra transaction.
 */
function budgetStatement(budget: Budget): string {
  const key = pg.escapeLiteral(budget.key);
  const now = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;
  const windowMs = Math.max(1, Math.floor(budget.windowMs));
  return `INSERT INTO rate_limits (key, points, expire) VALUES (${key}, 1, ${now} + ${windowMs})
    ON CONFLICT (key) DO UPDATE SET
      points = CASE WHEN rate_limits.expire IS NULL OR rate_limits.expire <= ${now} THEN 1 ELSE rate_limits.points + 1 END,
      expire = CASE WHEN rate_limits.expire IS NULL OR rate_limits.expire <= ${now} THEN ${now} + ${windowMs} ELSE rate_limits.expire END
    RETURNING points, (expire - ${now})::bigint AS "msLeft"`;
}

function assertWithinBudget(budget: Budget, row: { points: number; msLeft: string } | undefined) {
  if (!row || row.points <= budget.limit) return;
  const retryAfterMs = Math.max(1, Number(row.msLeft));
  throw new DomainError('too_many_requests', 'RATE_LIMITED', `Too many ${budget.what}: try again in ${Math.ceil(retryAfterMs / 1000)} s.`, { retryAfterMs });
}

/** Aggregates kept after their commit, for the next writer of the same context in this process. */
const MAX_CACHED_CONTEXTS = 1000;
/** A cached aggregate keeps the rows its writers added; past this many it is reloaded (a load holds only the open ones). */
const MAX_CACHED_ROWS = 200;

const rowCount = (a: ContextAggregate) => a.rows.messages.size + a.rows.runs.size + a.rows.toolCalls.size;

/** Whether `a` (at the locked version) already holds every row `load` asks for. */
function holds(a: ContextAggregate, version: number, load: LoadOptions | undefined, clientMessageFound: boolean) {
  if (a.expectedVersion !== version || a.isDirty || rowCount(a) > MAX_CACHED_ROWS) return false;
  if (!load) return true;
  if (load.messageIds?.some((id) => !a.rows.messages.has(id))) return false;
  if (load.runIds?.some((id) => !a.rows.runs.has(id))) return false;
  if (clientMessageFound && load.clientMessageIds?.some((id) => !a.messageByClientId(id))) return false;
  return true;
}

/**
 * The dirty-flag repository (DESIGN §5), the one place where a context's
 * changes are written. Writers to one context are serialised: `transact`
 * takes an in-process lock per context, then the context row's lock
 * (`SELECT ... FOR UPDATE`) inside the transaction, and only then computes the
 * change on the current state, so a lost race never reaches a client or a
 * run. The save is one statement (save-statement.ts) guarded by the version.
 * The aggregate a writer committed is kept for the next writer of that
 * context in this process (the executor after the accept, the next accept
 * after the reply): it is reused when the locked version still matches, so
 * a turn's transactions usually load nothing.
 * The SQL goes straight through the pg pool that Prisma's adapter also uses:
 * on this path the ORM's per-statement cost was half the server's CPU.
 */
export class PrismaContextRepository implements ContextRepository {
  private readonly locks = new KeyedLock();
  /** The last committed aggregate per context, least recently written first. */
  private readonly latest = new Map<string, ContextAggregate>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly clock: Clock,
  ) {}

  load(contextId: string, opts: LoadOptions = {}): Promise<ContextAggregate> {
    return this.loadWith(this.pool, contextId, opts);
  }

  private async loadWith(db: Queryable, contextId: string, opts: LoadOptions = {}): Promise<ContextAggregate> {
    const { rows } = await db.query<SnapshotRow>(LOAD_SQL, [
      contextId,
      OPEN_RUN_STATUSES,
      opts.messageIds ?? [],
      opts.runIds ?? [],
      opts.clientMessageIds ?? [],
    ]);
    const row = rows[0];
    if (!row?.context) throw notFound('context', contextId);
    const view: ContextView = {
      context: toContext(fromJsonRow(row.context)),
      branches: new Map(row.branches.map((b) => [b.id, toBranch(fromJsonRow(b))])),
      messages: new Map(row.messages.map((m) => [m.id, toMessage(fromJsonRow(m))])),
      runs: new Map(row.runs.map((r) => [r.id, toRun(fromJsonRow(r))])),
      toolCalls: new Map(row.toolCalls.map((t) => [t.id, toToolCall(fromJsonRow(t))])),
    };
    return ContextAggregate.load(view, this.clock);
  }

  /** Saves an aggregate computed without the lock (a new context, or a caller that handles the race itself). */
  async save(aggregate: ContextAggregate, extra: { idempotency?: IdempotencyWrite } = {}): Promise<void> {
    if (!aggregate.isDirty && !extra.idempotency) return;
    // Lock first: the statement's inserts would otherwise collide with the winner's rows before the guard.
    const lock = aggregate.expectedVersion !== null && aggregate.isDirty ? lockStatement(aggregate.id, false) : null;
    const committed = await this.inTransaction(lock ? [lock] : [], undefined, async (client, locked) => {
      if (lock && locked?.version !== aggregate.expectedVersion) throw new ConcurrencyError(aggregate.id, aggregate.expectedVersion ?? -1);
      return this.write(client, aggregate, extra.idempotency);
    });
    committed();
    this.remember(aggregate);
  }

  transact<T>(contextId: string, change: (aggregate: ContextAggregate) => T, opts: TransactOptions<T> = {}): Promise<Transacted<T>> {
    return this.locked(contextId, change, opts, false) as Promise<Transacted<T>>;
  }

  tryTransact<T>(contextId: string, change: (aggregate: ContextAggregate) => T, opts: TransactOptions<T> = {}): Promise<Transacted<T> | null> {
    return this.locked(contextId, change, opts, true);
  }

  private locked<T>(contextId: string, change: (aggregate: ContextAggregate) => T, opts: TransactOptions<T>, skipLocked: boolean) {
    return this.locks.run(contextId, async (): Promise<Transacted<T> | null> => {
      let used: ContextAggregate | null = null;
      try {
        const lock = lockStatement(contextId, skipLocked, opts.load?.clientMessageIds);
        const room = opts.maxRunningPerOwner === undefined ? [] : ownerRoomStatements(contextId, opts.maxRunningPerOwner);
        const out = await this.inTransaction([lock, ...room], opts.budget, async (client, locked, last) => {
          if (locked === null) {
            if (skipLocked) return null;
            throw notFound('context', contextId);
          }
          if (room.length && !(last?.rows[0] as { room?: boolean } | undefined)?.room) return null;
          const reusable = [opts.current, this.latest.get(contextId)].find(
            (a): a is ContextAggregate => !!a && holds(a, locked.version, opts.load, locked.clientMessageFound),
          );
          const aggregate = (used = reusable ?? (await this.loadWith(client, contextId, opts.load)));
          const result = change(aggregate);
          const committed = await this.write(client, aggregate, opts.idempotency?.(result));
          return { aggregate, result, committed };
        });
        if (!out) return null;
        out.committed();
        this.remember(out.aggregate);
        return { aggregate: out.aggregate, result: out.result };
      } catch (error) {
        // Its change may have half-applied, or its save failed: nobody reuses it.
        if (used && this.latest.get(contextId) === used) this.latest.delete(contextId);
        throw error;
      }
    });
  }

  private remember(aggregate: ContextAggregate) {
    this.latest.delete(aggregate.id);
    if (rowCount(aggregate) > MAX_CACHED_ROWS) return;
    this.latest.set(aggregate.id, aggregate);
    if (this.latest.size > MAX_CACHED_CONTEXTS) this.latest.delete(this.latest.keys().next().value!);
  }

  /** Writes the aggregate's changes; returns what to do once the transaction committed. */
  private async write(client: Queryable, aggregate: ContextAggregate, idempotency: IdempotencyWrite | undefined): Promise<() => void> {
    if (!aggregate.isDirty && !idempotency) return () => {};
    const statement = buildSaveStatement(aggregate, idempotency, this.clock());
    const { rows } = await client.query<{ saved: number }>(statement.text, statement.values);
    if (!aggregate.isDirty) return () => {};
    const expected = aggregate.expectedVersion;
    if (rows[0]?.saved !== 1) throw new ConcurrencyError(aggregate.id, expected ?? -1);
    return () => aggregate.markCommitted(expected === null ? 0 : expected + 1);
  }

  /**
   * BEGIN (with the budget's use and `statements`, the lock statement first,
   * in one round trip), `fn`, COMMIT; ROLLBACK on any failure (an exhausted
   * budget included). `fn` gets the locked row and the result of the last of
   * `statements`.
   */
  private async inTransaction<T>(
    statements: string[],
    budget: Budget | undefined,
    fn: (client: pg.PoolClient, locked: Locked | null, last: pg.QueryResult | undefined) => Promise<T>,
  ): Promise<T> {
    const lock = statements[0];
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      let locked: Locked | null = null;
      let last: pg.QueryResult | undefined;
      const first = ['BEGIN', ...(budget ? [budgetStatement(budget)] : []), ...statements];
      if (first.length > 1) {
        const results = (await client.query(first.join('; '))) as unknown as pg.QueryResult[];
        if (budget) assertWithinBudget(budget, results[1]!.rows[0] as { points: number; msLeft: string } | undefined);
        if (lock) locked = lockedRow(results[budget ? 2 : 1] as pg.QueryResult<{ version: number; found?: boolean }>);
        last = results.at(-1);
      } else {
        await client.query('BEGIN');
      }
      const result = await fn(client, locked, last);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * The branch path, walked back from the head one primary-key lookup per
   * message; with a window it stops once the text the model would see reaches
   * the budget (a lower bound of what history.ts counts, so the model's window
   * is always inside what was read), whatever the length of the chat.
   */
  async loadPath(contextId: string, headMessageId: string | null, window?: HistoryWindow): Promise<MessageRecord[]> {
    if (!headMessageId) return [];
    // Each step reads its message by primary key and keeps the row, so nothing is read twice.
    const { rows } = await this.pool.query<MessageRow>(
      `WITH RECURSIVE path AS (
        SELECT h.*, 0::bigint AS used FROM "Message" h WHERE id = $1 AND "contextId" = $2
        UNION ALL
        SELECT m.*, p.used + CASE
            WHEN m.role = 'system' OR m.status IN ('interrupted', 'error') OR m.id = ANY($5::text[]) THEN 0
            ELSE coalesce((SELECT sum(char_length(x->>'text')) FROM jsonb_array_elements(m.parts) x), 0)
          END
        FROM "Message" m JOIN path p ON m.id = p."parentId"
        WHERE $3::bigint IS NULL OR p.used < $3::bigint
      )
      SELECT ${messageSelect('path')} FROM path
      UNION ALL
      SELECT ${messageSelect('x')} FROM "Message" x
      WHERE x.id = ANY($4::text[]) AND x."contextId" = $2 AND x.id <> ALL(ARRAY(SELECT id FROM path))
      ORDER BY seq`,
      [headMessageId, contextId, window ? window.budgetChars : null, window?.include ?? [], window?.skip ?? []],
    );
    return rows.map(fromMessageRow);
  }
}
