import { z } from 'zod';
import { publicProcedure, router } from '../trpc.ts';
import { contextRef, id, idempotencyKey, MAX_MESSAGE_CHARS, seq, text } from './inputs.ts';

export const chatRouter = router({
  sendMessage: publicProcedure
    .input(
      contextRef.extend({
        content: text(MAX_MESSAGE_CHARS).refine((s) => s.trim().length > 0, 'must not be empty'),
        clientMessageId: id.optional(),
        idempotencyKey,
        editOfMessageId: id.optional(),
      }),
    )
    .mutation(({ ctx, input }) => ctx.services.actions.sendMessage(ctx.ownerId, input)),

  approveTools: publicProcedure
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

  cancel: publicProcedure
    .input(contextRef.extend({ runId: id.optional(), idempotencyKey }))
    .mutation(({ ctx, input }) => ctx.services.actions.cancel(ctx.ownerId, input)),

  regenerate: publicProcedure
    .input(contextRef.extend({ messageId: id, idempotencyKey }))
    .mutation(({ ctx, input }) => ctx.services.actions.regenerate(ctx.ownerId, input)),
});
