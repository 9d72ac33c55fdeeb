import { z } from 'zod';
import { protectedProcedure, router } from '../trpc.ts';
import { id, text } from './inputs.ts';

/** API tokens of the caller (DESIGN §9, §13): the secret is returned once, by create (`{ id, token }`). */
export const apiTokenRouter = router({
  create: protectedProcedure
    .input(z.object({ name: text(100).pipe(z.string().trim().min(1, 'must not be empty')) }))
    .mutation(async ({ ctx, input }) => {
      const { token, apiToken } = await ctx.services.tokens.create(ctx.ownerId, input.name);
      return { id: apiToken.id, token, apiToken };
    }),

  /** The caller's live tokens, newest first (never their secrets). */
  list: protectedProcedure.query(({ ctx }) => ctx.services.tokens.list(ctx.ownerId)),

  revoke: protectedProcedure.input(z.object({ id })).mutation(async ({ ctx, input }) => {
    await ctx.services.tokens.revoke(ctx.ownerId, input.id);
    return { revoked: true as const };
  }),
});
