import { notFound } from '@chat/core';
import type { AuthedContext } from '../trpc.ts';

/** Reads a context the caller owns; someone else's context is NOT_FOUND. */
export async function ownedContext(ctx: AuthedContext, contextId: string) {
  const context = await ctx.services.reads.context(contextId);
  if (!context || context.ownerId !== ctx.ownerId) throw notFound('context', contextId);
  return context;
}

export async function ownedAggregate(ctx: AuthedContext, contextId: string) {
  const aggregate = await ctx.services.repo.load(contextId);
  if (aggregate.context.ownerId !== ctx.ownerId) throw notFound('context', contextId);
  return aggregate;
}
