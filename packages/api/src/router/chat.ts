import { z } from 'zod';
import { ownerProcedure, router } from '../trpc.ts';
import { contextRef, id, idempotencyKey, MAX_MESSAGE_CHARS } from './inputs.ts';

export const chatRouter = router({
  sendMessage: ownerProcedure
    .input(
      contextRef.extend({
        content: z
          .string()
          .max(MAX_MESSAGE_CHARS)
          .refine((s) => s.trim().length > 0, 'must not be empty'),
        clientMessageId: id.optional(),
        idempotencyKey,
        editOfMessageId: id.optional(),
      }),
    )
    .mutation(({ ctx, input }) => ctx.services.actions.sendMessage(ctx.ownerId, input)),

  approveTools: ownerProcedure
    .input(
      contextRef.extend({
        runId: id,
        decisions: z
          .array(
            z.object({
              toolCallId: id,
              approve: z.boolean(),
              reason: z.string().max(2000).optional(),
              argsHash: z.string().max(128).optional(),
            }),
          )
          .min(1)
          .max(100),
        expectedVersion: z.number().int().min(0).optional(),
        idempotencyKey,
      }),
    )
    .mutation(({ ctx, input }) => ctx.services.actions.approveTools(ctx.ownerId, input)),

  cancel: ownerProcedure
    .input(contextRef.extend({ runId: id.optional(), idempotencyKey }))
    .mutation(({ ctx, input }) => ctx.services.actions.cancel(ctx.ownerId, input)),

  regenerate: ownerProcedure
    .input(contextRef.extend({ messageId: id, idempotencyKey }))
    .mutation(({ ctx, input }) => ctx.services.actions.regenerate(ctx.ownerId, input)),
});
