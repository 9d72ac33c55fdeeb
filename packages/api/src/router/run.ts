import { z } from 'zod';
import { protectedProcedure, router } from '../trpc.ts';
import { contextRef } from './inputs.ts';
import { ownedContext } from './owner.ts';
import { publicEvent, publicRun } from '../views.ts';

const runStatus = z.enum(['pending', 'processing', 'awaiting_approval', 'completed', 'error', 'cancelled', 'interrupted']);

export const runRouter = router({
  /** The latest run and its events: enough for a reopened client to resume or show the result. */
  latest: protectedProcedure.input(contextRef).query(async ({ ctx, input }) => {
    await ownedContext(ctx, input.contextId);
    const [run] = await ctx.services.reads.runs(input.contextId, undefined, 1);
    if (!run) return { run: null, events: [], toolCalls: [] };
    const [events, toolCalls] = await Promise.all([
      ctx.services.reads.runEvents(input.contextId, run.id),
      ctx.services.reads.toolCalls([run.id]),
    ]);
    return { run: publicRun(run), events: events.map(publicEvent), toolCalls };
  }),

  list: protectedProcedure
    .input(contextRef.extend({ status: runStatus.optional(), limit: z.number().int().min(1).max(200).default(50) }))
    .query(async ({ ctx, input }) => {
      await ownedContext(ctx, input.contextId);
      return (await ctx.services.reads.runs(input.contextId, input.status, input.limit)).map(publicRun);
    }),
});
