import { RunWorker, type CorePorts, type Ids } from '@chat/core';
import {
  ContextSearch,
  createPrismaClient,
  ensureDatabase,
  IdempotencyStore,
  migrateDeploy,
  PostgresEventBus,
  PrismaContextRepository,
  PrismaRunQueue,
  ReadModels,
  type DatabaseConnection,
} from '@chat/db';
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { ChatActions } from './actions.ts';
import { Admission } from './admission.ts';
import { createAuth, trustedOrigins } from './auth/auth.ts';
import { SharedLimit } from './auth/limits.ts';
import { authSecret } from './auth/secret.ts';
import { ApiTokens } from './auth/tokens.ts';
import { defaultModel, type Config } from './config.ts';
import { createMetrics } from './metrics.ts';
import { AiSdkLanguageModel, modelResolver } from './models/ai-sdk-model.ts';
import { builtinTools, ToolRegistry } from './tools/registry.ts';

/**
 * The composition root: configuration in, running services out. Started once
 * per process (the server keeps the instance on globalThis) and stopped on
 * SIGTERM: the worker hands back its runs, the bus and the pool close, the
 * embedded database stops.
 */
export type Services = Awaited<ReturnType<typeof startServices>>;

export const uuidIds: Ids = { next: (kind) => `${kind}_${randomUUID().replaceAll('-', '')}` };

export async function startServices(
  config: Config,
  opts: { rootDir?: string; migrate?: boolean; worker?: boolean; onDatabaseConnection?: (client: DatabaseConnection) => void } = {},
) {
  const log = pino({ level: config.LOG_LEVEL, base: { pid: process.pid } });
  const rootDir = opts.rootDir ?? process.cwd();
  const database = await ensureDatabase({
    ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
    dataDir: path.resolve(rootDir, config.DATA_DIR),
  });
  // The embedded server is supervised: one warning when it goes away (requests get SERVICE_BUSY meanwhile), one line when it is back.
  database.onStateChange((state) => {
    if (!state.healthy) log.warn({ reason: state.reason }, 'embedded database went away; restarting it');
    else log.info('embedded database is back');
  });
  if (opts.migrate !== false) await migrateDeploy(database.url);
  const db = createPrismaClient(database.url, {
    poolMax: config.DB_POOL_MAX,
    poolWaitMs: config.DB_POOL_WAIT_MS,
    // With the embedded server an outage is reported once by its supervisor, not once per pooled connection.
    onIdleError: (error) => log[database.embedded ? 'debug' : 'warn']({ error: error.message }, 'idle database connection lost'),
    ...(opts.onDatabaseConnection ? { onConnect: opts.onDatabaseConnection } : {}),
  });
  const prisma = db.prisma;
  const metrics = createMetrics({ prisma, pool: db.pool, log: (msg, data) => log.debug(data ?? {}, msg) });
  const now = () => new Date();
  const owner = config.INSTANCE_ID ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  const repo = new PrismaContextRepository(db.pool, now);
  const reads = new ReadModels(prisma, db.pool);
  const idempotency = new IdempotencyStore(prisma, db.pool);
  const bus = new PostgresEventBus(db.pool, database.url, (msg, data, level = 'warn') => log[level](data ?? {}, msg), {
    applicationName: 'chat-listen',
    onNotifyLag: metrics.notifyLag,
  });
  await bus.start();
  const models = modelResolver(config);
  const tools = new ToolRegistry(
    builtinTools({
      now,
      notes: {
        saveNote: async (note) =>
          prisma.note.upsert({
            where: { toolCallId: note.toolCallId },
            create: { id: uuidIds.next('tool').replace('tool_', 'note_'), ...note },
            update: {},
            select: { id: true },
          }),
      },
    }),
    config.TOOL_DELAY_MS,
    config.TOOL_TIMEOUT_MS,
    (msg, data) => log.warn(data, msg),
  );
  const ports: CorePorts = {
    repo,
    bus,
    queue: new PrismaRunQueue(db.pool),
    model: new AiSdkLanguageModel(models.resolve, models.isSupported, models.providers, {
      maxOutputTokens: config.MAX_OUTPUT_TOKENS,
      log: (msg, data) => log.warn(data, msg),
    }),
    tools,
    clock: now,
    ids: uuidIds,
    hash: (text) => createHash('sha256').update(text).digest('hex'),
    observer: metrics.observer,
  };
  const worker = new RunWorker(
    ports,
    {
      owner,
      leaseMs: config.LEASE_MS,
      checkpointMs: config.CHECKPOINT_INTERVAL_MS,
      deltaFlushMs: config.DELTA_FLUSH_MS,
      historyBudgetChars: config.HISTORY_BUDGET_CHARS,
      maxToolRounds: config.MAX_TOOL_ROUNDS,
      pollMs: config.POLL_INTERVAL_MS,
      sweepMs: config.SWEEP_INTERVAL_MS,
      maxConcurrentRuns: config.MAX_CONCURRENT_RUNS,
      maxRunsPerOwner: config.MAX_RUNS_PER_USER,
      maxAttempts: config.MAX_RUN_ATTEMPTS,
      approvalTimeoutMs: config.APPROVAL_TIMEOUT_MS,
      shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    },
    (msg, data) => log.info(data ?? {}, msg),
  );
  const actions = new ChatActions({
    repo,
    reads,
    idempotency,
    ids: uuidIds,
    now,
    idempotencyTtlMs: config.IDEMPOTENCY_TTL_MS,
    defaultModel: defaultModel(config),
    isModelSupported: models.isSupported,
    runsPerMinute: config.RATE_LIMIT_ACTIONS_PER_MIN,
  });
  const purge = setInterval(() => {
    idempotency.purgeExpired(now()).catch((error) => log.warn({ error: String(error) }, 'idempotency purge failed'));
  }, config.IDEMPOTENCY_PURGE_INTERVAL_MS);
  purge.unref();
  if (opts.worker !== false) await worker.start();
  log.info({ owner, embedded: database.embedded }, 'services started');

  const moveChats = async (from: string, to: string) => {
    const chats = await prisma.context.findMany({ where: { ownerId: from, deletedAt: null }, select: { id: true } });
    for (const { id } of chats) await repo.transact(id, (a) => a.transferTo(to));
  };
  const auth = createAuth(prisma, config, await authSecret(prisma, config.AUTH_SECRET), (msg, data) => log.info(data ?? {}, msg), moveChats);
  const tokens = new ApiTokens(prisma, db.pool);
  const limits = {
    guests: new SharedLimit(db.pool, 'guests', config.GUESTS_PER_IP_PER_HOUR, 3600, 'new guests from this address'),
    signIns: new SharedLimit(db.pool, 'sign-ins', config.AUTH_ATTEMPTS_PER_IP_PER_MIN, 60, 'sign-in attempts from this address'),
  };

  const admission = {
    actions: new Admission(config.MAX_INFLIGHT_ACTIONS, config.ACTION_QUEUE_WAIT_MS, 'requests'),
    joins: new Admission(config.MAX_CONCURRENT_JOINS, config.JOIN_QUEUE_WAIT_MS, 'subscriptions joining'),
  };

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      clearInterval(purge);
      await worker.stop();
      // Each step is bounded, so a stop during a database outage still ends within the grace period.
      await bounded(bus.close(), 2000);
      await bounded(db.close(), 2000);
      await bounded(database.stop(), 5000); // postgres's fast shutdown takes well under a second
      log.info('services stopped');
    })());

  return {
    config,
    log,
    owner,
    databaseUrl: database.url,
    prisma,
    db,
    repo,
    reads,
    contextSearch: new ContextSearch(prisma),
    idempotency,
    bus,
    worker,
    actions,
    tools,
    metrics,
    database,
    admission,
    auth,
    trustedOrigins: trustedOrigins(config),
    tokens,
    limits,
    models,
    stop,
  };
}

/** Waits for `promise`, at most `ms` (a close that cannot finish must not keep the process from stopping). */
function bounded(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(
      () => {},
      () => {},
    ),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]).finally(() => clearTimeout(timer));
}
