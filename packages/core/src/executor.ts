import type { RequestedToolCall } from './aggregate.ts';
import { LeaseLostError, ShutdownSignal } from './errors.ts';
import { buildModelHistory } from './history.ts';
import { ContextSession } from './mutate.ts';
import type { CorePorts } from './ports.ts';

export interface ExecutorConfig {
  owner: string;
  leaseMs: number;
  checkpointMs: number;
  /** Deltas are coalesced for this long before they are published. */
  deltaFlushMs: number;
  historyBudgetChars: number;
}

/**
 * Drives one claimed run through the FSM until it ends, waits for approval, or
 * the lease is lost; saves after every step (DESIGN §5). Every write checks
 * that this process still holds the lease, so a worker that was presumed dead
 * can never write over its successor.
 */
export class RunExecutor {
  constructor(
    private readonly ports: CorePorts,
    private readonly config: ExecutorConfig,
  ) {}

  /** `session`: the one that claimed the run, so its saved state is reused. */
  async execute(
    contextId: string,
    runId: string,
    abort: AbortSignal,
    session = new ContextSession(this.ports.repo, contextId),
  ): Promise<void> {
    const { owner } = this.config;
    for (;;) {
      if (abort.aborted) return;
      const aggregate = await session.read();
      const run = aggregate.activeRun;
      if (!run || run.id !== runId || run.leaseOwner !== owner || run.status !== 'processing') return;
      switch (aggregate.state.type) {
        case 'ProcessingUserMessage':
          await this.modelStep(session, runId, abort);
          break;
        case 'ExecutingTools':
          await this.toolStep(session, runId);
          break;
        default:
          return;
      }
    }
  }

  private async modelStep(session: ContextSession, runId: string, abort: AbortSignal) {
    const { repo, ids, model, tools, bus } = this.ports;
    const { owner } = this.config;
    const contextId = session.contextId;
    const messageId = ids.next('msg');
    const started = await session.apply((a) => {
      const run = a.assertLease(runId, owner);
      a.startReply(runId, owner, messageId);
      const waiting = new Set(a.queue.map((r) => r.triggerMessageId));
      return { run: { ...run }, context: { ...a.context }, waiting, headBefore: a.rows.messages.get(messageId)!.parentId };
    });
    const path = await repo.loadPath(contextId, started.headBefore);
    const history = buildModelHistory(path, started.run, started.waiting, this.config.historyBudgetChars);

    let text = '';
    let published = 0;
    let lastCheckpoint = Date.now();
    let lastFlush = Date.now();
    let checkpointRequested = false;
    let failure: string | null = null;
    const calls: RequestedToolCall[] = [];
    const flushDeltas = async () => {
      if (text.length === published) return;
      const chunk = text.slice(published);
      const offset = published;
      published = text.length;
      await bus.publishEphemeral({ type: 'message.delta', contextId, payload: { messageId, offset, text: chunk } });
    };
    const stopListening = bus.onCheckpointRequest((id) => {
      if (id === messageId) checkpointRequested = true;
    });
    /** The run ended early (cancel, lease lost, shutdown): store what was streamed, if still allowed. */
    const keepPartial = async () => {
      await flushDeltas().catch(() => {});
      if (abort.reason instanceof ShutdownSignal) {
        // Still ours: save the text so the hand-back marks the whole partial reply.
        await session.apply((a) => {
          a.assertLease(runId, owner);
          a.checkpoint(messageId, text);
        });
      } else {
        await session.apply((a) => a.flushCancelledText(runId, messageId, text), { load: { messageIds: [messageId] }, fresh: true });
      }
    };

    try {
      for await (const chunk of model.stream({
        model: started.context.model,
        system: started.context.systemPrompt,
        messages: history,
        tools: tools.descriptors(),
        signal: abort,
      })) {
        if (chunk.type === 'text') {
          text += chunk.text;
          const now = Date.now();
          if (now - lastFlush >= this.config.deltaFlushMs) {
            lastFlush = now;
            await flushDeltas();
          }
          if (checkpointRequested || now - lastCheckpoint >= this.config.checkpointMs) {
            checkpointRequested = false;
            lastCheckpoint = now;
            await flushDeltas();
            const current = text;
            await session.apply((a) => {
              a.assertLease(runId, owner);
              a.checkpoint(messageId, current);
            });
          }
        } else if (chunk.type === 'tool-call') {
          calls.push(this.requestedCall(chunk));
        } else {
          failure = chunk.error;
          break;
        }
      }
      await flushDeltas();
      if (abort.aborted) return await keepPartial();
      if (failure !== null) {
        const error = failure;
        await session.apply((a) => {
          a.assertLease(runId, owner);
          a.checkpoint(messageId, text);
          a.fail(runId, error);
        });
        return;
      }
      await session.apply((a) => a.completeReply(runId, owner, messageId, { text, toolCalls: calls }));
    } catch (error) {
      if (abort.aborted) return await keepPartial();
      if (error instanceof LeaseLostError) {
        // Cancelled before the abort reached us: keep the text subscribers already saw.
        await keepPartial();
        throw error;
      }
      const message = error instanceof Error ? error.message : String(error);
      await flushDeltas().catch(() => {});
      await session.apply((a) => {
        a.assertLease(runId, owner);
        a.checkpoint(messageId, text);
        a.fail(runId, message);
      });
    } finally {
      stopListening();
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
        outcome = { ok: false, result: { error: error instanceof Error ? error.message : String(error) } };
      }
      await session.apply((a) => a.finishTool(runId, owner, call.id, outcome), { load: { runIds: [runId] } });
    }
    const messageId = ids.next('msg');
    await session.apply((a) => a.completeToolStep(runId, owner, messageId));
  }
}
