import type { ContextAggregate, RequestedToolCall } from '../domain/aggregate.ts';
import { LeaseLostError, ShutdownSignal } from '../domain/errors.ts';
import { failure, failureText, type Failure } from '../domain/failure.ts';
import { buildModelHistory } from '../domain/history.ts';
import { ContextSession } from './mutate.ts';
import type { CorePorts, ModelChunk } from './ports.ts';
import type { ContextRecord, RunRecord } from '../domain/records.ts';

export interface ExecutorConfig {
  owner: string;
  leaseMs: number;
  checkpointMs: number;
  /** Deltas are coalesced for this long before they are published (the first one goes at once). */
  deltaFlushMs: number;
  historyBudgetChars: number;
  /** Tool rounds a run may do; a reply asking for one more ends the run TOOL_ROUNDS_EXCEEDED (default: no limit). */
  maxToolRounds?: number;
}

interface StartedReply {
  messageId: string;
  run: RunRecord;
  context: ContextRecord;
  /** Trigger messages of queued runs: not part of this run's history. */
  waiting: Set<string>;
  headBefore: string | null;
}

/** What a worker's claim did: how long the run waited, and the reply it started (if the model is next). */
export interface Claim {
  queuedMs: number;
  reply: StartedReply | null;
}

/** The model's own failure (its stream threw or said error): the run ends `error`. */
class ModelFailure {
  constructor(readonly failure: Failure) {}
}

/** PostgreSQL rejects NUL in text and jsonb: it never reaches a row. */
function withoutNul<T>(value: T): T {
  if (typeof value === 'string') return value.replaceAll('\u0000', '') as T;
  if (Array.isArray(value)) return value.map(withoutNul) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [withoutNul(k), withoutNul(v)])) as T;
  }
  return value;
}

/**
 * Drives one claimed run through the FSM until it ends, waits for approval, or
 * the lease is lost; saves after every step (DESIGN §5). Every write checks
 * that this process still holds the lease, so a worker that was presumed dead
 * can never write over its successor.
 *
 * Only the model (or a tool) can fail a run. A write that fails (database
 * away, pool full) is thrown to the worker, which hands the run back for a
 * retry: another writer or an outage is never the run's failure. Writers to
 * the context are serialised by the repository, so no step loses a race.
 */
export class RunExecutor {
  constructor(
    private readonly ports: CorePorts,
    private readonly config: ExecutorConfig,
  ) {}

  /**
   * The worker's claim, as one change: take the lease and, when the model is
   * next, start the reply in the same transaction (a turn is three: accept,
   * claim + start, complete).
   */
  claim(runId: string, leaseExpiresAt: Date) {
    return (a: ContextAggregate): Claim | null => {
      if (!a.claimRun(runId, this.config.owner, leaseExpiresAt)) return null;
      const run = a.run(runId);
      const queuedMs = Date.now() - run.createdAt.getTime();
      return { queuedMs, reply: a.state.type === 'ProcessingUserMessage' ? this.beginReply(a, runId) : null };
    };
  }

  /** `session`: the one that claimed the run, so its saved state is reused. */
  async execute(
    contextId: string,
    runId: string,
    abort: AbortSignal,
    session = new ContextSession(this.ports.repo, contextId),
    claim: Claim | null = null,
  ): Promise<void> {
    const { owner } = this.config;
    const claimedAt = Date.now();
    let started = claim?.reply ?? null;
    for (;;) {
      if (abort.aborted) return;
      const aggregate = await session.read();
      const run = aggregate.activeRun;
      if (!run || run.id !== runId || run.leaseOwner !== owner || run.status !== 'processing') return;
      switch (aggregate.state.type) {
        case 'ProcessingUserMessage': {
          const reply = started ?? (await session.apply((a) => this.beginReply(a, runId)));
          started = null;
          const toolRounds = aggregate.messagesOf(runId).filter((m) => m.role === 'tool').length;
          await this.modelStep(session, runId, abort, claimedAt, reply, toolRounds);
          break;
        }
        case 'ExecutingTools':
          await this.toolStep(session, runId);
          break;
        default:
          return;
      }
    }
  }

  /** Starts the assistant message of a model step (a change: saved by the caller). */
  private beginReply(a: ContextAggregate, runId: string): StartedReply {
    const run = a.assertLease(runId, this.config.owner);
    const reply = a.startReply(runId, this.config.owner, this.ports.ids.next('msg'));
    const waiting = new Set(a.queue.map((r) => r.triggerMessageId));
    return { messageId: reply.id, run: { ...run }, context: { ...a.context }, waiting, headBefore: reply.parentId };
  }

  private async modelStep(
    session: ContextSession,
    runId: string,
    abort: AbortSignal,
    claimedAt: number,
    started: StartedReply,
    toolRounds: number,
  ) {
    const { repo, bus, observer } = this.ports;
    const { owner } = this.config;
    const contextId = session.contextId;
    const { messageId } = started;
    const path = await repo.loadPath(contextId, started.headBefore, {
      budgetChars: this.config.historyBudgetChars,
      include: [started.run.triggerMessageId],
      skip: [...started.waiting],
    });
    const history = buildModelHistory(path, started.run, started.waiting, this.config.historyBudgetChars);

    let text = '';
    let saved = 0;
    let lastCheckpoint = Date.now();
    const calls: RequestedToolCall[] = [];
    const deltas = new DeltaPublisher(
      (offset, chunk) => bus.publishEphemeral({ type: 'message.delta', contextId, payload: { messageId, offset, text: chunk } }),
      this.config.deltaFlushMs,
      () => saved,
    );
    const checkpoint = async () => {
      const current = text;
      await session.apply((a) => {
        a.assertLease(runId, owner);
        a.checkpoint(messageId, current);
      });
      saved = current.length;
    };
    /** The run ended early (cancel, lease lost, shutdown): store what was streamed, if still allowed. */
    const keepPartial = async () => {
      await deltas.flush(text).catch(() => {});
      if (text.length === saved) return;
      if (abort.reason instanceof ShutdownSignal) {
        // Still ours: save the text so the hand-back marks the whole partial reply.
        await checkpoint();
      } else {
        const current = text;
        await session.apply((a) => a.flushCancelledText(runId, messageId, current), { load: { messageIds: [messageId] } });
      }
    };

    try {
      let failed: ModelFailure | null = null;
      for await (const chunk of this.modelChunks(started.context, history, abort)) {
        if (chunk instanceof ModelFailure) {
          failed = chunk;
          break;
        }
        if (chunk.type === 'text') {
          const piece = withoutNul(chunk.text);
          if (!piece) continue;
          if (text.length === 0) observer?.firstToken?.({ runId, ms: Date.now() - claimedAt });
          text += piece;
          deltas.offer(text);
          if (Date.now() - lastCheckpoint >= this.config.checkpointMs) {
            lastCheckpoint = Date.now();
            await deltas.flush(text);
            await checkpoint();
          }
        } else if (chunk.type === 'tool-call') {
          calls.push(this.requestedCall(withoutNul(chunk)));
        }
      }
      const maxRounds = this.config.maxToolRounds ?? Infinity;
      if (!failed && !abort.aborted && calls.length > 0 && toolRounds >= maxRounds) {
        failed = new ModelFailure(toolRoundsExceeded(maxRounds));
      }
      // No trailing delta: the save that ends the step carries the rest of the text in its events.
      await deltas.settle();
      if (abort.aborted) return await keepPartial();
      if (failed) {
        const error = failureText(failed.failure);
        await session.apply((a) => {
          a.assertLease(runId, owner);
          a.checkpoint(messageId, text);
          a.fail(runId, error);
        });
        return;
      }
      await session.apply((a) => a.completeReply(runId, owner, messageId, { text, toolCalls: calls }));
    } catch (error) {
      if (abort.aborted || error instanceof LeaseLostError) {
        // Cancelled before the abort reached us, or handed back: keep the text subscribers already saw.
        await keepPartial().catch(() => {});
        if (!abort.aborted) throw error;
        return;
      }
      // A write failed (not the model): the worker hands the run back; the text saved so far stays.
      await deltas.flush(text).catch(() => {});
      throw error;
    } finally {
      deltas.close();
    }
  }

  /** The model's stream; its own errors come out as a ModelFailure chunk, never as a throw. */
  private async *modelChunks(
    context: { model: string; systemPrompt: string | null },
    history: ReturnType<typeof buildModelHistory>,
    abort: AbortSignal,
  ): AsyncGenerator<ModelChunk | ModelFailure> {
    const { model, tools } = this.ports;
    let iterator: AsyncIterator<ModelChunk>;
    try {
      iterator = model
        .stream({ model: context.model, system: context.systemPrompt, messages: history, tools: tools.descriptors(), signal: abort })
        [Symbol.asyncIterator]();
    } catch (error) {
      yield new ModelFailure(failure('MODEL_FAILED'));
      return;
    }
    try {
      for (;;) {
        let step: IteratorResult<ModelChunk>;
        try {
          step = await iterator.next();
        } catch (error) {
          if (abort.aborted) return;
          yield new ModelFailure(failure('MODEL_FAILED'));
          return;
        }
        if (step.done) return;
        if (step.value.type === 'error') {
          // Without a category the text is the provider's own (unsafe to show): the generic sentence instead.
          const { code, error } = step.value;
          yield new ModelFailure(code ? failure(code, error) : failure('MODEL_FAILED'));
          return;
        }
        yield step.value;
      }
    } finally {
      await iterator.return?.().catch(() => {});
    }
  }

  /** Our own id, not the provider's: providers may repeat ids or leave them empty. */
  private requestedCall(chunk: { name: string; args: unknown; invalid?: string }): RequestedToolCall {
    const { tools, hash, ids } = this.ports;
    const id = ids.next('tool');
    const call = { id, name: chunk.name, args: chunk.args, argsHash: hash(JSON.stringify(chunk.args ?? null)) };
    const known = tools.descriptors().find((t) => t.name === chunk.name);
    if (!known) return { ...call, approval: 'invalid', error: `unknown tool ${chunk.name}` };
    if (chunk.invalid) return { ...call, approval: 'invalid', error: chunk.invalid };
    const checked = tools.validate(chunk.name, chunk.args);
    if (!checked.ok) return { ...call, approval: 'invalid', error: checked.error };
    return { ...call, args: checked.args, approval: known.needsApproval ? 'required' : 'auto' };
  }

  private async toolStep(session: ContextSession, runId: string) {
    const { tools, ids } = this.ports;
    const { owner } = this.config;
    const contextId = session.contextId;
    for (const call of (await session.read()).unsentToolCalls(runId)) {
      if (call.status !== 'approved') continue;
      const claimed = await session.apply((a) => a.claimTool(runId, owner, call.id));
      if (!claimed) continue;
      let outcome: { ok: boolean; result: unknown };
      try {
        outcome = { ok: true, result: await tools.execute(call.name, call.args, { contextId, toolCallId: call.id }) };
      } catch (error) {
        outcome = { ok: false, result: { error: messageOf(error) } };
      }
      const settled = withoutNul(outcome);
      await session.apply((a) => a.finishTool(runId, owner, call.id, settled), { load: { runIds: [runId] } });
    }
    const messageId = ids.next('msg');
    await session.apply((a) => a.completeToolStep(runId, owner, messageId));
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

const toolRoundsExceeded = (max: number) =>
  failure('TOOL_ROUNDS_EXCEEDED', `The run stopped: it asked for more than ${max} tool round${max === 1 ? '' : 's'}, the limit per run.`);

/**
 * Coalesces a reply's deltas: the first text goes out at once (first token
 * latency), later text at most once per `intervalMs`, whatever the model's
 * chunking, so a streaming reply costs a bounded number of NOTIFYs per second.
 *
 * Each delta carries the whole text since the last checkpoint (offset = the
 * checkpointed length), not just what is new: a subscriber that joins
 * mid-reply gets the checkpointed text as its snapshot and can apply the very
 * next delta, with no write on its behalf. The subscription trims what a
 * client already has, so each character still reaches it once.
 */
/** Text since the last checkpoint that a delta carries at most (keeps one delta one NOTIFY). */
const MAX_CARRY_CHARS = 3000;

class DeltaPublisher {
  private published = 0;
  private lastFlush = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private latest = '';
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly publish: (offset: number, text: string) => Promise<void>,
    private readonly intervalMs: number,
    /** The length of the text already checkpointed. */
    private readonly savedLength: () => number,
  ) {}

  /**
   * The whole text so far; published now or within the interval. Not awaited:
   * the model streams on while the NOTIFY travels (publishes stay in order on
   * the chain, and a failed one shows in the step's next write).
   */
  offer(text: string): void {
    this.latest = text;
    const wait = this.lastFlush + this.intervalMs - Date.now();
    if (wait <= 0) {
      this.lastFlush = Date.now(); // the next offers coalesce behind this one even before it runs
      void this.flush(text).catch(() => {});
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.flush(this.latest).catch(() => {});
    }, wait);
  }

  flush(text: string): Promise<void> {
    this.latest = text;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    // A failed publish fails its caller, not every later flush.
    const next = this.chain
      .catch(() => {})
      .then(async () => {
        if (this.latest.length <= this.published) return;
        // From the checkpoint while that is short (a joiner can continue at once); beyond, only the new text.
        const saved = this.savedLength();
        const offset = this.latest.length - saved <= MAX_CARRY_CHARS ? Math.min(saved, this.published) : this.published;
        const chunk = this.latest.slice(offset);
        this.published = this.latest.length;
        this.lastFlush = Date.now();
        await this.publish(offset, chunk);
      });
    this.chain = next;
    return next;
  }

  /** Drops the pending coalesced flush and waits for the publishes already under way. */
  async settle() {
    this.close();
    await this.chain.catch(() => {});
  }

  close() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
