import { z } from 'zod';
import { protectedProcedure, router } from '../trpc.ts';
import { AppError } from '../errors.ts';
import { contextRef, HARD_MAX_MESSAGE_CHARS, id, idempotencyKey, seq, text } from './inputs.ts';

export const chatRouter = router({
  sendMessage: protectedProcedure
    .input(
      contextRef.extend({
        content: text(HARD_MAX_MESSAGE_CHARS).refine((s) => s.trim().length > 0, 'must not be empty'),
        clientMessageId: id.optional(),
        idempotencyKey,
        editOfMessageId: id.optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const max = ctx.services.config.MAX_MESSAGE_CHARS;
      if (input.content.length > max) {
        throw new AppError('BAD_REQUEST', 'MESSAGE_TOO_LONG', `A message may have at most ${max} characters (this one has ${input.content.length}).`, { max });
      }
      return ctx.services.actions.sendMessage(ctx.ownerId, input);
    }),

  approveTools: protectedProcedure
    .input(
      contextRef.extend({
        runId: id,
        decisions: z
          .array(
            z.object({
              toolCallId: id,
              approve: z.boolean(),
              reason: text(2000).optional(),
              argsHash: text(128).optional(),
            }),
          )
          .min(1)
          .max(100),
        expectedVersion: seq.optional(),
        idempotencyKey,
      }),
    )
    .mutation(({ ctx, input }) => ctx.services.actions.approveTools(ctx.ownerId, input)),

  cancel: protectedProcedure
    .input(contextRef.extend({ runId: id.optional(), idempotencyKey }))
    .mutation(({ ctx, input }) => ctx.services.actions.cancel(ctx.ownerId, input)),

  regenerate: protectedProcedure
    .input(contextRef.extend({ messageId: id, idempotencyKey }))
    .mutation(({ ctx, input }) => ctx.services.actions.regenerate(ctx.ownerId, input)),
});
