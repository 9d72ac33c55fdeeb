import {
  type Budget,
  ContextAggregate,
  DomainError,
  mutate,
  ownedBy,
  type ContextMode,
  type BusyPolicy,
  type ContextRecord,
  type ContextRepository,
  type ContextState,
  type IdempotencyWrite,
  type Ids,
  type LoadOptions,
  type MessageRecord,
  type RunRecord,
  type ToolDecision,
} from '@chat/core';
import type { IdempotencyStore, ReadModels } from '@chat/db';
import { idempotent } from './idempotency.ts';
import { publicContext, publicRun, stateView, type PublicContext, type PublicRun } from './views.ts';

/** Responses leave as public views (stored and replayed records hold the rows as they are). */
const showRun = <R extends { run: RunRecord }>({ run, ...rest }: R) => ({ ...rest, run: publicRun(run) }) as Omit<R, 'run'> & { run: PublicRun };
const showContext = <R extends { context: ContextRecord }>({ context, ...rest }: R) =>
  ({ ...rest, context: publicContext(context) }) as Omit<R, 'context'> & { context: PublicContext };

/**
 * The mutating actions of the API. Each: validates ownership, applies one
 * aggregate command, saves it (one transaction, with its events and its
 * idempotency record), and returns what the client needs. Runs are never
 * executed here: a worker picks them up after the commit.
 */
export class ChatActions {
  constructor(
    private readonly deps: {
      repo: ContextRepository;
      reads: ReadModels;
      idempotency: IdempotencyStore;
      ids: Ids;
      now: () => Date;
      idempotencyTtlMs: number;
      defaultModel: string;
      isModelSupported: (model: string) => boolean;
      /** Messages (sends and regenerates) a user may start per minute, across instances (RATE_LIMIT_ACTIONS_PER_MIN). */
      runsPerMinute: number;
    },
  ) {}

  /** The per-user allowance a send or a regenerate spends, in its own transaction. */
  private runBudget(ownerId: string): Budget {
    return { key: `actions:${ownerId}`, limit: this.deps.runsPerMinute, windowMs: 60_000, what: 'messages' };
  }

  private once<T extends object>(
    ownerId: string,
    procedure: string,
    key: string | undefined,
    request: unknown,
    action: (record: ((response: T) => IdempotencyWrite) | undefined) => Promise<T>,
  ) {
    const d = this.deps;
    return idempotent<T>(d.idempotency, { ownerId, procedure, key, request }, d.idempotencyTtlMs, d.now, action);
  }

  /** Load → change → save with the context's writers serialised (the repository never loses a race). */
  private change<T>(
    ownerId: string,
    contextId: string,
    fn: (a: ContextAggregate) => T,
    record: ((response: T) => IdempotencyWrite | undefined) | undefined,
    load?: LoadOptions,
    budget?: Budget,
  ): Promise<T> {
    return mutate(
      this.deps.repo,
      contextId,
      (a) => {
        ownedBy(a.context, ownerId, contextId);
        return fn(a);
      },
      { ...(load ? { load } : {}), ...(record ? { idempotency: record } : {}), ...(budget ? { budget } : {}) },
    );
  }

  createContext(
    ownerId: string,
    input: { title?: string; model?: string; systemPrompt?: string; mode?: ContextMode; busyPolicy?: BusyPolicy; idempotencyKey?: string },
  ) {
    const { idempotencyKey, ...request } = input;
    this.assertModel(input.model);
    return this.once<{ context: ContextRecord }>(ownerId, 'context.create', idempotencyKey, request, async (record) => {
      const aggregate = ContextAggregate.create(
        {
          id: this.deps.ids.next('ctx'),
          ownerId,
          title: input.title?.trim() || 'New chat',
          model: input.model ?? this.deps.defaultModel,
          mode: input.mode ?? 'chat',
          systemPrompt: input.systemPrompt ?? null,
          busyPolicy: input.busyPolicy ?? 'queue',
          mainBranchId: this.deps.ids.next('br'),
        },
        this.deps.now,
      );
      const response = { context: { ...aggregate.context } };
      await this.deps.repo.save(aggregate, record ? { idempotency: record(response) } : {});
      return { context: { ...aggregate.context } };
    }).then(showContext);
  }

  updateContext(
    ownerId: string,
    input: { contextId: string; title?: string; systemPrompt?: string | null; model?: string; busyPolicy?: BusyPolicy; idempotencyKey?: string },
  ) {
    const { idempotencyKey, contextId, ...changes } = input;
    this.assertModel(input.model);
    return this.once<{ context: ContextRecord }>(ownerId, 'context.update', idempotencyKey, { contextId, ...changes }, (record) =>
      this.change(
        ownerId,
        contextId,
        (a) => {
          a.update(changes);
          return { context: { ...a.context, version: a.versionAfterSave } };
        },
        record,
      ),
    ).then(showContext);
  }

  deleteContext(ownerId: string, input: { contextId: string; idempotencyKey?: string }) {
    return this.once<{ contextId: string; deleted: boolean }>(ownerId, 'context.delete', input.idempotencyKey, { contextId: input.contextId }, (record) =>
      this.change(
        ownerId,
        input.contextId,
        (a) => {
          a.delete();
          return { contextId: input.contextId, deleted: true };
        },
        record,
      ),
    );
  }

  switchBranch(ownerId: string, input: { contextId: string; branchId: string; idempotencyKey?: string }) {
    const { idempotencyKey, ...request } = input;
    return this.once<{ context: ContextRecord }>(ownerId, 'context.switchBranch', idempotencyKey, request, (record) =>
      this.change(
        ownerId,
        input.contextId,
        (a) => {
          a.switchBranch(input.branchId);
          return { context: { ...a.context, version: a.versionAfterSave } };
        },
        record,
      ),
    ).then(showContext);
  }

  async sendMessage(
    ownerId: string,
    input: { contextId: string; content: string; clientMessageId?: string; idempotencyKey?: string; editOfMessageId?: string },
  ) {
    const { idempotencyKey, ...request } = input;
    type Sent = { message: MessageRecord; run: RunRecord; replayed?: boolean };
    const load: LoadOptions = {
      ...(input.editOfMessageId ? { messageIds: [input.editOfMessageId] } : {}),
      ...(input.clientMessageId ? { clientMessageIds: [input.clientMessageId] } : {}),
    };
    return this.once<Sent>(ownerId, 'chat.sendMessage', idempotencyKey, request, (record) =>
      this.change(
        ownerId,
        input.contextId,
        (a): Sent => {
          // clientMessageId is unique per context: a resend (even without the key) is answered, never stored twice.
          const already = input.clientMessageId ? a.messageByClientId(input.clientMessageId) : null;
          if (already?.runId) return { message: { ...already }, run: { ...a.run(already.runId) }, replayed: true };
          return a.acceptUserMessage({
            messageId: this.deps.ids.next('msg'),
            runId: this.deps.ids.next('run'),
            text: input.content,
            clientMessageId: input.clientMessageId ?? null,
            editOfMessageId: input.editOfMessageId,
            newBranchId: this.deps.ids.next('br'),
          });
        },
        // A replay writes nothing, not even a second record for its key.
        record ? (sent) => (sent.replayed ? undefined : record(sent)) : undefined,
        Object.keys(load).length ? load : undefined,
        this.runBudget(ownerId),
      ),
    ).then(showRun);
  }

  approveTools(
    ownerId: string,
    input: {
      contextId: string;
      runId: string;
      decisions: ToolDecision[];
      expectedVersion?: number;
      idempotencyKey?: string;
    },
  ) {
    const { idempotencyKey, ...request } = input;
    return this.once<{ run: RunRecord; state: ContextState }>(ownerId, 'chat.approveTools', idempotencyKey, request, (record) =>
      this.change(
        ownerId,
        input.contextId,
        (a) => {
          if (input.expectedVersion !== undefined && input.expectedVersion !== a.context.version) {
            throw new DomainError('conflict', 'STALE_VERSION', `context is at version ${a.context.version}`, {
              currentVersion: a.context.version,
              state: stateView(a.rows),
            });
          }
          a.decideTools(input.runId, input.decisions, ownerId);
          return { run: { ...a.run(input.runId) }, state: a.state };
        },
        record,
      ),
    ).then(showRun);
  }

  cancel(ownerId: string, input: { contextId: string; runId?: string; idempotencyKey?: string }) {
    const { idempotencyKey, ...request } = input;
    return this.once<{ run: RunRecord | null; cancelled: boolean }>(ownerId, 'chat.cancel', idempotencyKey, request, (record) =>
      this.change(
        ownerId,
        input.contextId,
        (a) => {
          const run = a.cancel(input.runId);
          return { run: run ? { ...run } : null, cancelled: run?.status === 'cancelled' };
        },
        record,
        input.runId ? { runIds: [input.runId] } : undefined,
      ),
    ).then(({ run, ...rest }) => ({ ...rest, run: run ? publicRun(run) : null }));
  }

  regenerate(ownerId: string, input: { contextId: string; messageId: string; idempotencyKey?: string }) {
    const { idempotencyKey, ...request } = input;
    return this.once<{ run: RunRecord; branchId: string }>(ownerId, 'chat.regenerate', idempotencyKey, request, (record) =>
      this.change(
        ownerId,
        input.contextId,
        (a) => {
          const branchId = this.deps.ids.next('br');
          const run = a.regenerate({ messageId: input.messageId, runId: this.deps.ids.next('run'), newBranchId: branchId });
          return { run: { ...run }, branchId };
        },
        record,
        { messageIds: [input.messageId] },
        this.runBudget(ownerId),
      ),
    ).then(showRun);
  }

  private assertModel(model: string | undefined) {
    if (model !== undefined && !this.deps.isModelSupported(model)) {
      throw new DomainError('invalid', 'UNKNOWN_MODEL', `model ${model} is not available on this server`);
    }
  }
}
