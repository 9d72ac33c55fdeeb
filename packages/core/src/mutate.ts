import type { ContextAggregate } from './aggregate.ts';
import { isConcurrencyError } from './errors.ts';
import type { ContextRepository, IdempotencyWrite, LoadOptions } from './ports.ts';

/**
 * Load, change, save; on a lost version race, reload and apply the change
 * again (the change is a function of the fresh state, so this is safe).
 */
export async function mutate<T>(
  repo: ContextRepository,
  contextId: string,
  change: (aggregate: ContextAggregate) => T,
  opts: { retries?: number; load?: LoadOptions; idempotency?: (result: T) => IdempotencyWrite } = {},
): Promise<T> {
  const retries = opts.retries ?? 8;
  for (let attempt = 0; ; attempt++) {
    const aggregate = await repo.load(contextId, opts.load ?? {});
    const result = change(aggregate);
    try {
      await repo.save(aggregate, opts.idempotency ? { idempotency: opts.idempotency(result) } : {});
      return result;
    } catch (error) {
      if (!isConcurrencyError(error) || attempt >= retries) throw error;
      await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));
    }
  }
}
