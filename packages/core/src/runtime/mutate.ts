import type { ContextAggregate } from '../domain/aggregate.ts';
import type { Budget, ContextRepository, IdempotencyWrite, LoadOptions, Transacted } from './ports.ts';

export interface ApplyOptions<T> {
  /** Extra rows to load. */
  load?: LoadOptions;
  /** The idempotency record to write in the same transaction. */
  idempotency?: (result: T) => IdempotencyWrite | undefined;
  /** An allowance this change spends (in the same transaction). */
  budget?: Budget;
}

/**
 * Load, change, save, with writers to the context serialised by the
 * repository: the change always runs on the current state, so it never loses
 * a race and never has to be retried by its caller.
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
 * aggregate of the last successful save is reused for the next change when
 * nobody wrote to the context since (the repository checks the version under
 * the lock), so a step usually sends no load. An aggregate whose change threw
 * or whose save failed is dropped.
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

  /** The last saved state, without loading. */
  peek(): ContextAggregate | null {
    return this.current;
  }

  /** `apply` unless another writer holds the context right now: then undefined and nothing done. */
  async tryApply<T>(change: (aggregate: ContextAggregate) => T, opts: { maxRunningPerOwner?: number } = {}): Promise<T | undefined> {
    return (await this.step((current) => this.repo.tryTransact(this.contextId, change, { current, ...opts })))?.result;
  }

  async apply<T>(change: (aggregate: ContextAggregate) => T, opts: ApplyOptions<T> = {}): Promise<T> {
    const done = await this.step((current) =>
      this.repo.transact(this.contextId, change, {
        current,
        ...(opts.load ? { load: opts.load } : {}),
        ...(opts.idempotency ? { idempotency: opts.idempotency } : {}),
        ...(opts.budget ? { budget: opts.budget } : {}),
      }),
    );
    return done!.result;
  }

  /** Hands the last saved aggregate to one transaction and keeps what it committed (nothing when it failed or was skipped). */
  private async step<T>(go: (current: ContextAggregate | null) => Promise<Transacted<T> | null>): Promise<Transacted<T> | null> {
    const current = this.current;
    this.current = null;
    const done = await go(current);
    if (done) this.current = done.aggregate;
    return done;
  }
}
