import { publicProcedure, router } from '../trpc.ts';

export const systemRouter = router({
  health: publicProcedure.query(async ({ ctx }) => {
    const started = Date.now();
    await ctx.services.prisma.$queryRaw`SELECT 1`;
    return {
      ok: true as const,
      database: { ok: true, latencyMs: Date.now() - started },
      instance: ctx.services.owner,
      runningRuns: ctx.services.worker.runningRunIds.length,
      provider: ctx.services.config.LLM_PROVIDER,
    };
  }),

  /** SQL statements this process has sent since it started (writes: INSERT/UPDATE/DELETE). */
  metrics: publicProcedure.query(({ ctx }) => ({ ...ctx.services.db.statements() })),
});
