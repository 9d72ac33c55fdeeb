import { notFound } from '@chat/core';
import { z } from 'zod';
import { protectedProcedure, router } from '../trpc.ts';
import { publicContext, publicRun, stateView } from '../views.ts';
import { contextRef, id, idempotencyKey, model, seq, text } from './inputs.ts';
import { ownedAggregate, ownedContext } from './owner.ts';

const mode = z.enum(['chat', 'agent']);
/**
 * The messages context.get opens a chat with: its latest page (then `messagesCursor`
 * and context.messages for earlier ones). More than a screen holds, and small
 * enough that opening a long chat costs about what opening a short one does.
 */
export const FIRST_PAGE = 50;
const busyPolicy = z.enum(['queue', 'reject']);

export const contextRouter = router({
  create: protectedProcedure
    .input(
      z.object({
        title: text(200).optional(),
        model: model.optional(),
        systemPrompt: text(20_000).optional(),
        mode: mode.optional(),
        busyPolicy: busyPolicy.optional(),
        idempotencyKey,
      }),
    )
    .mutation(({ ctx, input }) => ctx.services.actions.createContext(ctx.ownerId, input)),

  list: protectedProcedure
    .input(
      z
        .object({ cursor: id.optional(), limit: z.number().int().min(1).max(100).default(50), query: text(200).optional() })
        .default({ limit: 50 }),
    )
    .query(async ({ ctx, input }) => {
      // A query (titles and message text) searches; none or a blank one lists.
      const page = input.query?.trim()
        ? await ctx.services.contextSearch.search(ctx.ownerId, input.query, input.limit, input.cursor)
        : await ctx.services.reads.listContexts(ctx.ownerId, input.limit, input.cursor);
      return { ...page, items: page.items.map(publicContext) };
    }),

  get: protectedProcedure.input(contextRef).query(async ({ ctx, input }) => {
    const aggregate = await ownedAggregate(ctx, input.contextId);
    const { reads } = ctx.services;
    const context = aggregate.context;
    const tree = await reads.branchTree(context.id);
    const { branches } = tree;
    const branch = branches.find((b) => b.id === context.activeBranchId) ?? null;
    const [messages, [latestRun]] = await Promise.all([
      reads.branchMessages(context.id, tree, branch?.id ?? null, FIRST_PAGE),
      reads.runs(context.id, undefined, 1),
    ]);
    const toolCalls = await reads.toolCalls(
      [...new Set(messages.items.flatMap((m) => (m.runId ? [m.runId] : [])))],
    );
    return {
      context: publicContext(context),
      state: stateView(aggregate.rows),
      branch,
      branches,
      messages: messages.items,
      messagesCursor: messages.nextCursor,
      toolCalls,
      latestRun: latestRun ? publicRun(latestRun) : null,
    };
  }),

  state: protectedProcedure
    .input(contextRef)
    .query(async ({ ctx, input }) => stateView((await ownedAggregate(ctx, input.contextId)).rows)),

  messages: protectedProcedure
    .input(
      contextRef.extend({
        branchId: id.optional(),
        cursor: seq.optional(),
        limit: z.number().int().min(1).max(500).default(100),
      }),
    )
    .query(async ({ ctx, input }) => {
      const context = await ownedContext(ctx, input.contextId);
      const tree = await ctx.services.reads.branchTree(context.id);
      const branchId = input.branchId ?? context.activeBranchId;
      if (!tree.branches.some((b) => b.id === branchId)) throw notFound('branch', String(branchId));
      return ctx.services.reads.branchMessages(context.id, tree, branchId, input.limit, input.cursor);
    }),

  update: protectedProcedure
    .input(
      contextRef.extend({
        title: text(200).optional(),
        systemPrompt: text(20_000).nullable().optional(),
        model: model.optional(),
        busyPolicy: busyPolicy.optional(),
        idempotencyKey,
      }),
    )
    .mutation(({ ctx, input }) => ctx.services.actions.updateContext(ctx.ownerId, input)),

  delete: protectedProcedure
    .input(contextRef.extend({ idempotencyKey }))
    .mutation(({ ctx, input }) => ctx.services.actions.deleteContext(ctx.ownerId, input)),

  switchBranch: protectedProcedure
    .input(contextRef.extend({ branchId: id, idempotencyKey }))
    .mutation(({ ctx, input }) => ctx.services.actions.switchBranch(ctx.ownerId, input)),
});
