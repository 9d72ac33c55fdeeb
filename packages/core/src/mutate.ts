import type { ContextAggregate } from './aggregate.ts';
import { isConcurrencyError } from './errors.ts';
import type { ContextRepository, IdempotencyWrite, LoadOptions } from './ports.ts';

const RETRIES = 8;
const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));

export interface ApplyOptions<T> {
  /** Retries after a lost version race (default 8). */
  retries?: number;
  /** Extra rows to load. */
  load?: LoadOptions;
  /**
   * Load first even if a saved aggregate is at hand. Needed when the change
   * may decide to write nothing: a clean save checks no version, so a stale
   * aggregate would go unnoticed.
   */
  fresh?: boolean;
  /** The idempotency record to write in the same transaction. */
  idempotency?: (result: T) => IdempotencyWrite;
}

/**
 * Load, change, save; on a lost version race, reload and apply the change
 * again (the change is a function of the fresh state, so this is safe).
 */
export function mutate<T>(
  repo: ContextRepository,
  contextId: string,
  change: (aggregate: ContextAggregate) => T,
  opts: ApplyOptions<T> = {},
): Promise<T> {
  return new ContextSession(repo, contextId).apply(change, opts);
}

/**
 * `mutate` for a sequence of changes by one writer (the run executor): the
 * aggregate of the last successful save is reused for the next change instead
 * of loaded again. That is safe because the save is version-guarded: if anyone
 * else wrote meanwhile, the save fails, and the change is applied again to a
 * fresh load. An aggregate whose change threw or whose save failed is dropped.
 */
export class ContextSession {
  private current: ContextAggregate | null = null;

  constructor(
    private readonly repo: ContextRepository,
    readonly contextId: string,
  ) {}

  /** The state as of this writer's last save or load (possibly stale; writes re-check it). */
  async read(): Promise<ContextAggregate> {
    this.current ??= await this.repo.load(this.contextId);
    return this.current;
  }

  async apply<T>(change: (aggregate: ContextAggregate) => T, opts: ApplyOptions<T> = {}): Promise<T> {
    if (opts.fresh) this.current = null;
    const retries = opts.retries ?? RETRIES;
    for (let attempt = 0; ; attempt++) {
      const aggregate = this.current ?? (await this.repo.load(this.contextId, opts.load ?? {}));
      this.current = null;
      const result = change(aggregate);
      try {
        await this.repo.save(aggregate, opts.idempotency ? { idempotency: opts.idempotency(result) } : {});
      } catch (error) {
        if (!isConcurrencyError(error) || attempt >= retries) throw error;
        await backoff(attempt);
        continue;
      }
      this.current = aggregate;
      return result;
    }
  }
}
