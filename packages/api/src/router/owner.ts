import { ownedBy } from '@chat/core';
import type { AuthedContext } from '../trpc.ts';

/** Reads a context the caller owns; someone else's context is NOT_FOUND. */
export async function ownedContext(ctx: AuthedContext, contextId: string) {
  return ownedBy(await ctx.services.reads.context(contextId), ctx.ownerId, contextId);
}

export async function ownedAggregate(ctx: AuthedContext, contextId: string) {
  const aggregate = await ctx.services.repo.load(contextId);
  ownedBy(aggregate.context, ctx.ownerId, contextId);
  return aggregate;
}
