/**
 * `@chat/client/ai-sdk`: the AI SDK's `useChat` / `Chat` (ai@6) on this server.
 *
 * The server stays the authority: the transport sends only the new user text
 * (never the history the SDK holds), answers the SDK's tool approval parts
 * with `chat.approveTools` (the server checks every id), and streams the run
 * the server executes as UI message chunks, read from `events.onContext`.
 */
import type { ChatRequestOptions, ChatTransport, UIMessage, UIMessageChunk } from 'ai';
import { ChatError, newId, type ChatClient, type RouterOutputs, type WatchItem } from './index.ts';

export interface ChatServerTransportOptions {
  /** A client from `createChatClient` (with an EventSource on Node). */
  client: ChatClient;
  /** Called with each item of the server's stream (for logs and UIs that show the server's state). */
  onItem?: (item: WatchItem) => void;
}

type ToolCallView = RouterOutputs['context']['get']['toolCalls'][number];
type ServerMessage = RouterOutputs['context']['get']['messages'][number];

/**
 * A `ChatTransport` for `new Chat({ id: contextId, transport })` or
 * `useChat({ id: contextId, transport })`: the chat's id is the server's
 * context id. Load what is already there with `loadUIMessages`.
 *
 * - `sendMessage({ text })` -> `chat.sendMessage` with the UI message's id as
 *   `clientMessageId` (a resend is never stored twice); the run's reply
 *   streams back as UI message chunks (steps, text, tool parts).
 * - A tool call that needs approval ends the stream with a tool approval
 *   part (`approval-requested`); `addToolApprovalResponse` + a send (or
 *   `sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses`)
 *   calls `chat.approveTools` and streams the rest of the run.
 * - `stop()` -> `chat.cancel`: the server keeps the partial reply (cancelled).
 *   A reconnect the SDK aborts only to start a newer one (useChat's `resume`
 *   under React strict mode) is not a stop and cancels nothing.
 * - `resumeStream()` -> `reconnectToStream`: the active run replayed through
 *   `events.onContext` from the seq before it (the text once, never twice),
 *   then live; null when nothing is streaming.
 * - Errors are `ChatError`s with the server's `appCode`.
 *
 * Make one transport per chat view and keep it (`useState(() => new ChatServerTransport(...))`).
 */
export class ChatServerTransport<UI_MESSAGE extends UIMessage = UIMessage> implements ChatTransport<UI_MESSAGE> {
  /** A reconnect replays the run from its start: the SDK rebuilds the message from it. */
  readonly resumeStreamIsReplay = true;
  private readonly client: ChatClient;
  private readonly onItem: ((item: WatchItem) => void) | undefined;
  /** Per chat, how many reconnects were asked for: a reconnect the SDK aborts because it starts a newer one is not a stop. */
  private readonly reconnects = new Map<string, number>();

  constructor(options: ChatServerTransportOptions) {
    this.client = options.client;
    this.onItem = options.onItem;
  }

  sendMessages(
    options: {
      trigger: 'submit-message' | 'regenerate-message';
      chatId: string;
      messageId: string | undefined;
      messages: UI_MESSAGE[];
      abortSignal: AbortSignal | undefined;
    } & ChatRequestOptions,
  ): Promise<ReadableStream<UIMessageChunk>> {
    return typed(this.send(options), options.abortSignal);
  }

  reconnectToStream(options: { chatId: string; abortSignal?: AbortSignal } & ChatRequestOptions): Promise<ReadableStream<UIMessageChunk> | null> {
    return typed(this.reconnect(options), options.abortSignal);
  }

  private async send(
    options: Parameters<ChatTransport<UI_MESSAGE>['sendMessages']>[0],
  ): Promise<ReadableStream<UIMessageChunk>> {
    const contextId = options.chatId;
    const signal = options.abortSignal;
    if (options.trigger === 'regenerate-message') {
      throw new Error('ChatServerTransport: regenerate is not supported here; call client.chat.regenerate and watch the chat');
    }
    const last = options.messages.at(-1);
    if (!last) throw new Error('ChatServerTransport: nothing to send');
    const opts = signal ? { signal } : undefined;
    const { lastEventSeq } = await this.client.context.state.query({ contextId }, opts);

    if (last.role === 'assistant') {
      // Answers to tool approval parts: only the decisions travel; the server checks each id against the run.
      const decisions = last.parts.flatMap((part) => {
        const p = part as { type: string; state?: string; approval?: { id: string; approved?: boolean; reason?: string } };
        if (!p.type.startsWith('tool-') && p.type !== 'dynamic-tool') return [];
        if (p.state !== 'approval-responded' || !p.approval) return [];
        return [{ toolCallId: p.approval.id, approve: p.approval.approved === true, ...(p.approval.reason ? { reason: p.approval.reason } : {}) }];
      });
      if (decisions.length === 0) throw new Error('ChatServerTransport: the last message has no tool approval responses');
      // The assistant message's id is its run's (see loadUIMessages and the stream's start chunk).
      const runId = last.id;
      // Not aborted by a stop (the server may have applied it): a stop cancels the run instead, below.
      const result = await this.client.approve(contextId, runId, decisions);
      const stillWaiting = result.state.type === 'AwaitingToolApproval' && result.state.runId === runId ? result.state.pendingToolCalls.map((c) => c.id) : [];
      if (stillWaiting.length > 0) {
        // Some calls of the run are still undecided: they stay approval parts, nothing runs yet.
        return new ReadableStream<UIMessageChunk>({
          start: (controller) => {
            controller.enqueue({ type: 'start', messageId: runId });
            for (const id of stillWaiting) controller.enqueue({ type: 'tool-approval-request', approvalId: id, toolCallId: id });
            controller.enqueue({ type: 'finish', finishReason: 'tool-calls' });
            controller.close();
          },
        });
      }
      return this.streamRun({ contextId, runId, fromSeq: lastEventSeq, signal, replay: false, tools: decisions.map((d) => d.toolCallId) });
    }

    // Only the new user text travels, never the history the SDK holds.
    const text = last.parts.map((part) => (part.type === 'text' ? part.text : '')).join('');
    // Not aborted by a stop either: the run it starts is what a stop cancels.
    const sent = await this.client.send(contextId, text, { clientMessageId: last.id });
    return this.streamRun({ contextId, runId: sent.run.id, fromSeq: lastEventSeq, signal, replay: false });
  }

  private async reconnect(options: Parameters<ChatTransport<UI_MESSAGE>['reconnectToStream']>[0]): Promise<ReadableStream<UIMessageChunk> | null> {
    const contextId = options.chatId;
    const generation = (this.reconnects.get(contextId) ?? 0) + 1;
    this.reconnects.set(contextId, generation);
    const signal = options.abortSignal;
    const opts = signal ? { signal } : undefined;
    const state = await this.client.context.state.query({ contextId }, opts);
    const active = state.activeRun;
    // Nothing streams while the chat is idle, or waits for a decision (its approval parts come with loadUIMessages).
    if (!active || state.state.type === 'Idle' || state.state.type === 'AwaitingToolApproval') return null;
    const latest = await this.client.run.latest.query({ contextId }, opts);
    const seqs = latest.run?.id === active.id ? latest.events.map((e) => e.seq) : [];
    // The seq before the run's first event: the whole run again (the SDK rebuilds the message), then live.
    const fromSeq = seqs.length ? Math.min(...seqs) - 1 : state.lastEventSeq;
    return this.streamRun({
      contextId,
      runId: active.id,
      fromSeq,
      signal,
      replay: true,
      // The SDK aborts a reconnect when it starts another one (useChat's resume in strict mode does): only
      // an abort no newer reconnect follows at once is the user's stop.
      isStop: () => new Promise((resolve) => setTimeout(() => resolve(this.reconnects.get(contextId) === generation), 0)),
    });
  }

  /** The run's events after `fromSeq` as UI message chunks, until it ends or waits for an approval. */
  private streamRun(run: {
    contextId: string;
    runId: string;
    fromSeq: number;
    signal: AbortSignal | undefined;
    /** From the run's first event: a tool call's request is followed by its decision, which may be in the past. */
    replay: boolean;
    isStop?: () => Promise<boolean>;
    /** Tool calls of the run requested before `fromSeq` (the ones an approval just decided). */
    tools?: string[];
  }): ReadableStream<UIMessageChunk> {
    const { contextId, runId, signal, replay } = run;
    const client = this.client;
    const onItem = this.onItem;
    const abort = new AbortController();
    const items = client.watch(contextId, { lastEventId: run.fromSeq, signal: abort.signal });
    /** Assistant messages of this run, and which of them have an open step / text part. */
    const own = new Set<string>();
    const openStep = new Set<string>();
    const openText = new Set<string>();
    /** Tool calls of this run (their results are shown), and those of them not yet decided. */
    const requested = new Set<string>(run.tools);
    const undecided = new Set<string>(run.tools);
    let closed = false;
    let stopping = false;
    const onAbort = async () => {
      if (stopping) return;
      stopping = true;
      abort.abort();
      // The user stopped the reply: the server cancels the run and keeps its partial text.
      if (!run.isStop || (await run.isStop())) await client.cancel(contextId, runId).catch(() => {});
    };
    if (signal?.aborted) void onAbort();
    else signal?.addEventListener('abort', () => void onAbort(), { once: true });

    return new ReadableStream<UIMessageChunk>({
      start: (controller) => {
        controller.enqueue({ type: 'start', messageId: runId });
      },
      pull: async (controller) => {
        let emitted = 0;
        const emit = (chunk: UIMessageChunk) => {
          if (closed) return;
          emitted++;
          controller.enqueue(chunk);
        };
        const close = () => {
          if (closed) return;
          closed = true;
          abort.abort();
          void items.return?.();
          controller.close();
        };
        const closeParts = (messageId: string) => {
          if (openText.delete(messageId)) emit({ type: 'text-end', id: messageId });
          if (openStep.delete(messageId)) emit({ type: 'finish-step' });
        };
        const openPart = (messageId: string) => {
          if (!openStep.has(messageId)) {
            openStep.add(messageId);
            emit({ type: 'start-step' });
          }
          if (!openText.has(messageId)) {
            openText.add(messageId);
            emit({ type: 'text-start', id: messageId });
          }
        };
        const finish = (chunk: UIMessageChunk) => {
          for (const id of [...openStep]) closeParts(id);
          emit(chunk);
          close();
        };
        // Server items until at least one chunk came of them, so the SDK reads at its own pace.
        while (emitted === 0 && !closed) {
          let next: IteratorResult<WatchItem>;
          try {
            next = await items.next();
          } catch (error) {
            if (stopping) return close();
            const e = ChatError.from(error);
            return finish({ type: 'error', errorText: `${e.appCode}: ${e.message}` });
          }
          if (closed) return;
          if (next.done || stopping) {
            if (stopping) return close();
            closed = true;
            return controller.error(new Error('ChatServerTransport: the event stream ended before the run did'));
          }
          const w = next.value;
          onItem?.(w);
          const item = w.item;
          if (item.kind === 'event') {
            switch (item.type) {
              case 'message.created': {
                const m = item.payload.message;
                if (m.runId === runId && m.role === 'assistant') {
                  // One server assistant message is one step of the SDK's message (loadUIMessages does the same).
                  own.add(m.id);
                  openStep.add(m.id);
                  emit({ type: 'start-step' });
                  if (w.appended) {
                    openPart(m.id);
                    emit({ type: 'text-delta', id: m.id, delta: w.appended });
                  }
                }
                break;
              }
              case 'message.checkpointed':
              case 'message.completed':
                if (own.has(item.payload.messageId) && w.appended) {
                  openPart(item.payload.messageId);
                  emit({ type: 'text-delta', id: item.payload.messageId, delta: w.appended });
                }
                if (item.type === 'message.completed' && own.has(item.payload.messageId)) closeParts(item.payload.messageId);
                break;
              case 'message.interrupted':
                if (own.has(item.payload.messageId)) closeParts(item.payload.messageId);
                break;
              case 'message.restarted':
                // A retried attempt answers again from the start: its text is a new text part.
                if (own.has(item.payload.messageId) && openText.delete(item.payload.messageId)) emit({ type: 'text-end', id: item.payload.messageId });
                break;
              case 'tool.requested': {
                const call = item.payload.toolCall;
                if (call.runId !== runId) break;
                requested.add(call.id);
                emit({ type: 'tool-input-available', toolCallId: call.id, toolName: call.name, input: call.args, dynamic: true });
                if (call.status === 'pending_approval') undecided.add(call.id);
                // Arguments the tool's schema refused: the call failed as it was made.
                if (call.status === 'failed') emit({ type: 'tool-output-error', toolCallId: call.id, errorText: toolError(call.result), dynamic: true });
                break;
              }
              case 'tool.decided':
                if (!undecided.delete(item.payload.toolCallId)) break;
                if (item.payload.status === 'denied' || item.payload.status === 'expired') {
                  emit({ type: 'tool-output-denied', toolCallId: item.payload.toolCallId });
                }
                break;
              case 'tool.finished':
                if (!requested.has(item.payload.toolCallId)) break;
                if (item.payload.status === 'succeeded') {
                  emit({ type: 'tool-output-available', toolCallId: item.payload.toolCallId, output: item.payload.result, dynamic: true });
                } else {
                  emit({ type: 'tool-output-error', toolCallId: item.payload.toolCallId, errorText: toolError(item.payload.result), dynamic: true });
                }
                break;
              case 'run.status_changed': {
                if (item.payload.runId !== runId || item.payload.status !== 'awaiting_approval') break;
                // Waiting for a decision now, or (in a replay) only back then? The server says.
                let state: RouterOutputs['context']['state'];
                try {
                  state = await client.context.state.query({ contextId }, { signal: abort.signal });
                } catch (error) {
                  if (stopping) return close();
                  const e = ChatError.from(error);
                  return finish({ type: 'error', errorText: `${e.appCode}: ${e.message}` });
                }
                const pending = state.state.type === 'AwaitingToolApproval' && state.activeRun?.id === runId ? state.pendingToolCalls : [];
                if (pending.length > 0 && pending.every((c) => undecided.has(c.id))) {
                  // The SDK shows the approval parts; its answer comes back through sendMessages.
                  for (const c of pending) emit({ type: 'tool-approval-request', approvalId: c.id, toolCallId: c.id });
                  return finish({ type: 'finish', finishReason: 'tool-calls' });
                }
                break;
              }
              case 'run.completed':
                if (item.payload.runId === runId) return finish({ type: 'finish', finishReason: 'stop' });
                break;
              case 'run.cancelled':
                if (item.payload.runId === runId) return finish({ type: 'finish', finishReason: 'other' });
                break;
              case 'run.failed':
              case 'run.interrupted':
                if (item.payload.runId === runId) return finish({ type: 'error', errorText: `${item.payload.error.code}: ${item.payload.error.message}` });
                break;
              default:
                break;
            }
          } else if ((item.type === 'message.delta' || item.type === 'message.snapshot') && w.appended) {
            const messageId = item.payload.messageId;
            // A snapshot or delta of a reply not seen created (a replay that began mid-message) is the active run's.
            if (!own.has(messageId) && replay && (w.reply?.runId ?? runId) === runId) own.add(messageId);
            if (own.has(messageId)) {
              openPart(messageId);
              emit({ type: 'text-delta', id: messageId, delta: w.appended });
            }
          }
        }
      },
      cancel: async () => {
        closed = true;
        abort.abort();
        await items.return?.();
      },
    });
  }
}

/** Failures as ChatErrors (with the server's appCode); an abort stays what it is, for the SDK to see. */
async function typed<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (signal?.aborted || (error as { name?: string } | null)?.name === 'AbortError') throw error;
    throw ChatError.from(error);
  }
}

function toolError(result: unknown): string {
  const error = (result as { error?: unknown } | null)?.error;
  return typeof error === 'string' ? error : 'the tool failed';
}

/**
 * The chat's transcript (its active branch) as AI SDK UI messages, to start
 * `useChat({ id, messages, transport })` with: user messages keep the id the
 * client gave them, and each run's replies, tool calls and results are one
 * assistant message whose id is the run's.
 */
export async function loadUIMessages<UI_MESSAGE extends UIMessage = UIMessage>(client: ChatClient, contextId: string): Promise<UI_MESSAGE[]> {
  const { messages, toolCalls } = await client.context.get.query({ contextId });
  return toUIMessages<UI_MESSAGE>(messages, toolCalls);
}

/** See `loadUIMessages`. */
export function toUIMessages<UI_MESSAGE extends UIMessage = UIMessage>(messages: ServerMessage[], toolCalls: ToolCallView[]): UI_MESSAGE[] {
  const calls = new Map(toolCalls.map((t) => [t.id, t]));
  const out: UIMessage[] = [];
  let current: UIMessage | null = null;
  for (const m of [...messages].sort((a, b) => a.seq - b.seq)) {
    if (m.role === 'user') {
      current = null;
      out.push({ id: m.clientMessageId ?? m.id, role: 'user', parts: m.parts.flatMap((p) => (p.type === 'text' ? [{ type: 'text' as const, text: p.text }] : [])) });
      continue;
    }
    if (m.role === 'system') continue;
    const runId = m.runId ?? m.id;
    if (!current || current.id !== runId) {
      current = { id: runId, role: 'assistant', parts: [] };
      out.push(current);
    }
    if (m.role === 'assistant') current.parts.push({ type: 'step-start' });
    for (const part of m.parts) {
      if (part.type === 'text') {
        if (part.text) current.parts.push({ type: 'text', text: part.text, state: m.status === 'streaming' ? 'streaming' : 'done' });
      } else if (part.type === 'tool-call') {
        current.parts.push(toolPart(part.toolCallId, part.toolName, part.args, calls.get(part.toolCallId)));
      }
    }
  }
  return out as UI_MESSAGE[];
}

function toolPart(toolCallId: string, toolName: string, input: unknown, call: ToolCallView | undefined): UIMessage['parts'][number] {
  const base = { type: 'dynamic-tool' as const, toolCallId, toolName, input };
  switch (call?.status) {
    case 'pending_approval':
      return { ...base, state: 'approval-requested', approval: { id: toolCallId } };
    case 'approved':
    case 'running':
      return { ...base, state: 'approval-responded', approval: { id: toolCallId, approved: true } };
    case 'denied':
    case 'expired':
      return { ...base, state: 'output-denied', approval: { id: toolCallId, approved: false, ...(call.reason ? { reason: call.reason } : {}) } };
    case 'succeeded':
      return { ...base, state: 'output-available', output: call.result };
    case 'failed':
      return { ...base, state: 'output-error', errorText: toolError(call.result) };
    default:
      return { ...base, state: 'input-available' };
  }
}

export { newId };
