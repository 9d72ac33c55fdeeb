import { defaultModel } from '../config.ts';
import { protectedProcedure, publicProcedure, router } from '../trpc.ts';

const HEALTH_DB_TIMEOUT_MS = 800;

export const systemRouter = router({
  /**
   * `{ ok: true }` when the database answers; while it is away (restarting, unreachable, or slower than
   * HEALTH_DB_TIMEOUT_MS) still an answer, `{ ok: false, status: 'degraded', reason }`, never an error.
   */
  health: publicProcedure.query(async ({ ctx }) => {
    const { services } = ctx;
    const common = {
      instance: services.owner,
      runningRuns: services.worker.runningRunIds.length,
      provider: services.config.LLM_PROVIDER,
    };
    const degraded = { ok: false as boolean, status: 'degraded' as 'ok' | 'degraded', reason: 'database unavailable', ...common };
    if (!services.database.healthy) return degraded;
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const answered = await Promise.race([
      services.prisma.$queryRaw`SELECT 1`.then(
        () => true,
        () => false,
      ),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), HEALTH_DB_TIMEOUT_MS))),
    ]).finally(() => clearTimeout(timer));
    if (!answered) return degraded;
    return { ok: true as boolean, status: 'ok' as 'ok' | 'degraded', database: { ok: true, latencyMs: Date.now() - started }, ...common };
  }),

  /**
   * The models this deployment can run (DESIGN §9): `default` (what a new chat gets), `models` (the ones
   * named by the configuration) and `providers` (any `provider:model` of these may be asked for).
   */
  models: protectedProcedure.query(({ ctx }) => {
    const { config, models } = ctx.services;
    const def = defaultModel(config);
    const named = [...(models.isSupported('local:scripted') ? ['local:scripted'] : []), ...(def.startsWith('local:') ? [] : [def])];
    return { default: def, models: [...new Set(named)], providers: models.providers() };
  }),

  /** SQL statements this process has sent since it started (writes: INSERT/UPDATE/DELETE). */
  metrics: protectedProcedure.query(({ ctx }) => ({ ...ctx.services.db.statements() })),
});
