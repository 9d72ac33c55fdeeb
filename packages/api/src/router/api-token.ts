import { z } from 'zod';
import { protectedProcedure, router } from '../trpc.ts';
import { id, text } from './inputs.ts';

/** API tokens of the caller (DESIGN §13): the secret is returned once, by create. */
export const apiTokenRouter = router({
  create: protectedProcedure
    .input(z.object({ name: text(100).pipe(z.string().trim().min(1, 'must not be empty')) }))
    .mutation(({ ctx, input }) => ctx.services.tokens.create(ctx.ownerId, input.name)),

  list: protectedProcedure.query(async ({ ctx }) => ({ tokens: await ctx.services.tokens.list(ctx.ownerId) })),

  revoke: protectedProcedure.input(z.object({ id })).mutation(async ({ ctx, input }) => {
    await ctx.services.tokens.revoke(ctx.ownerId, input.id);
    return { revoked: true as const };
  }),
});
