import { ContextAggregate, type Clock } from '../domain/aggregate.ts';
import { ConcurrencyError, notFound } from '../domain/errors.ts';
import type { ContextEvent } from '../domain/events.ts';
import type { ContextRepository, TransactOptions, Transacted } from '../runtime/ports.ts';
import type { MessageRecord } from '../domain/records.ts';
import type { ContextView } from '../domain/view.ts';

const cloneView = (v: ContextView): ContextView => structuredClone(v);

/** An in-memory repository with the same contract as the Prisma one, for core tests. */
export class MemoryRepository implements ContextRepository {
  readonly views = new Map<string, ContextView>();
  readonly events = new Map<string, ContextEvent[]>();
  saves = 0;

  constructor(private readonly clock: Clock) {}

  async load(contextId: string) {
    const view = this.views.get(contextId);
    if (!view || view.context.deletedAt) throw notFound('context', contextId);
    return ContextAggregate.load(cloneView(view), this.clock);
  }

  async save(aggregate: ContextAggregate) {
    if (!aggregate.isDirty) return;
    const stored = this.views.get(aggregate.id);
    const expected = aggregate.expectedVersion;
    if (expected === null ? stored !== undefined : stored?.context.version !== expected) {
      throw new ConcurrencyError(aggregate.id, expected ?? -1);
    }
    const version = expected === null ? 0 : expected + 1;
    const view = cloneView(aggregate.rows);
    view.context.version = version;
    this.views.set(aggregate.id, view);
    this.events.set(aggregate.id, [...(this.events.get(aggregate.id) ?? []), ...structuredClone([...aggregate.uncommittedEvents])]);
    this.saves++;
    aggregate.markCommitted(version);
  }

  private tail = Promise.resolve();

  /** Serialised like the database's row lock (one chain for all contexts: enough for tests). */
  transact<T>(contextId: string, change: (a: ContextAggregate) => T, opts: TransactOptions<T> = {}): Promise<Transacted<T>> {
    const run = this.tail.then(async () => {
      const current = opts.current;
      const stored = this.views.get(contextId);
      const reuse = current && !opts.load && !current.isDirty && stored && current.expectedVersion === stored.context.version;
      const aggregate = reuse ? current : await this.load(contextId);
      const result = change(aggregate);
      await this.save(aggregate);
      return { aggregate, result };
    });
    this.tail = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  tryTransact<T>(contextId: string, change: (a: ContextAggregate) => T, opts: TransactOptions<T> = {}): Promise<Transacted<T> | null> {
    return this.transact(contextId, change, opts);
  }

  async loadPath(contextId: string, headMessageId: string | null): Promise<MessageRecord[]> {
    const view = this.views.get(contextId);
    const path: MessageRecord[] = [];
    let id = headMessageId;
    while (id && view) {
      const message = view.messages.get(id);
      if (!message) break;
      path.unshift(structuredClone(message));
      id = message.parentId;
    }
    return path;
  }
}
