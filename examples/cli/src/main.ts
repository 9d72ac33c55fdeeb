/**
 * A terminal chat on @chat/client: pick or create a chat, type a message, the
 * reply streams as it is written, tool calls that need approval are asked
 * with y/n, Ctrl-C stops a reply (its text so far stays in the chat) and
 * Ctrl-C or Ctrl-D at the prompt quits. A dropped connection is resumed from
 * the last event seq without printing anything twice.
 *
 *   CHAT_TOKEN=... npm start -- [--chat <id> | --new]
 *
 * Output markers (stable, for scripts and tests): the prompt `you> `, a reply
 * line starts `assistant> `, `[chat <id>]` when a chat opens,
 * `[approve tool NAME? y/n] `, `[tool NAME succeeded: ...]`, `[cancelled]`,
 * `[reconnecting]` / `[reconnected]`.
 */
import { ChatError, createChatClient, newId, type ChatClient, type Reply, type WatchItem, type WatchOptions } from '@chat/client';
import { EventSource } from 'eventsource';
import readline from 'node:readline';
import { describeError, isFatal } from './errors.ts';

const USAGE = `Usage: chat [--chat <id> | --new] [--title <title>]

  --chat, -c <id>   open this chat (its id; a bare <id> works too)
  --new, -n         start a new chat without asking
  --title <title>   the title of a new chat

Without --chat or --new it lists your chats to pick one by number.

Environment:
  CHAT_URL     the server (default http://localhost:3000)
  CHAT_TOKEN   an API token (required): the web app's Settings > API tokens, or apiToken.create

Keys: Enter sends; Ctrl-C while a reply streams stops it; Ctrl-C or Ctrl-D at the prompt quits.`;

interface Args {
  chatId?: string;
  newChat: boolean;
  title?: string;
  help: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { newChat: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('-')) usageError(`${arg} needs a value`);
      return v;
    };
    if (arg === '--help' || arg === '-h') args.help = true;
    else if (arg === '--new' || arg === '-n') args.newChat = true;
    else if (arg === '--chat' || arg === '-c') args.chatId = value();
    else if (arg.startsWith('--chat=')) args.chatId = arg.slice('--chat='.length);
    else if (arg === '--title') args.title = value();
    else if (arg.startsWith('--title=')) args.title = arg.slice('--title='.length);
    else if (!arg.startsWith('-') && args.chatId === undefined) args.chatId = arg;
    else usageError(`unknown argument ${arg}`);
  }
  if (args.chatId !== undefined && args.newChat) usageError('--chat and --new do not go together');
  return args;
}

function usageError(message: string): never {
  process.stderr.write(`chat: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------------------
// Output

let atLineStart = true;
/** The reply whose text was printed last (a different one starts a new `assistant> ` line). */
let printingReply: string | null = null;

function out(text: string) {
  if (!text) return;
  process.stdout.write(text);
  atLineStart = text.endsWith('\n');
}

/** A line of its own (after whatever was being printed). */
function line(text: string) {
  if (!atLineStart) out('\n');
  out(`${text}\n`);
  printingReply = null;
}

function printReplyText(reply: Reply, text: string) {
  if (printingReply !== reply.messageId) {
    if (!atLineStart) out('\n');
    out('assistant> ');
    printingReply = reply.messageId;
  }
  out(text);
}

const short = (value: unknown, max = 300) => {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max)}...` : text;
};

// ---------------------------------------------------------------------------
// Input: lines from readline, queued (stdin may be a pipe that runs ahead of the prompts)

class Lines {
  private queue: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  closed = false;

  constructor(private readonly rl: readline.Interface) {
    rl.on('line', (text) => {
      const w = this.waiting;
      this.waiting = null;
      if (w) w(text);
      else this.queue.push(text);
    });
    rl.on('close', () => {
      this.closed = true;
      const w = this.waiting;
      this.waiting = null;
      w?.(null);
    });
  }

  /** The next line after showing `prompt`; null at the end of input or when `signal` aborts. */
  ask(prompt: string, signal?: AbortSignal): Promise<string | null> {
    if (signal?.aborted) return Promise.resolve(null);
    if (!atLineStart) out('\n');
    printingReply = null;
    if (this.closed) {
      if (this.queue.length) {
        out(prompt);
        return Promise.resolve(this.queue.shift()!);
      }
      return Promise.resolve(null);
    }
    this.rl.setPrompt(prompt);
    this.rl.prompt();
    atLineStart = false;
    if (this.queue.length) return Promise.resolve(this.afterInput(this.queue.shift()!));
    return new Promise((resolve) => {
      const onAbort = () => {
        if (this.waiting === done) this.waiting = null;
        resolve(null);
      };
      const done = (text: string | null) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(text === null ? null : this.afterInput(text));
      };
      this.waiting = done;
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private afterInput(text: string) {
    // A terminal echoed the line and its Enter; a pipe did not: end the prompt's line ourselves.
    if (process.stdin.isTTY) atLineStart = true;
    else out('\n');
    return text;
  }
}

// ---------------------------------------------------------------------------
// The chat

interface PendingCall {
  id: string;
  runId: string;
  name: string;
  args: unknown;
}

type RunEnd = { status: 'completed' } | { status: 'cancelled' } | { status: 'failed' | 'interrupted'; message: string };

interface Turn {
  runId: string;
  cancelRequested: boolean;
  /** Aborts an approval question when the run is cancelled or the call decided elsewhere. */
  ask: AbortController | null;
  askingAbout: string | null;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const url = process.env.CHAT_URL?.trim() || 'http://localhost:3000';
  const token = process.env.CHAT_TOKEN?.trim();
  if (!token) {
    process.stderr.write(
      'chat: CHAT_TOKEN is not set. Make an API token in the web app (Settings > API tokens) or with apiToken.create, then:\n' +
        '  CHAT_TOKEN=<token> npm start\n',
    );
    process.exit(2);
  }

  const client: ChatClient = createChatClient({
    url,
    token,
    EventSource,
    // A CLI should say so soon when the server is away, not retry for a minute.
    retry: { budgetMs: 15_000 },
  });

  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: Boolean(process.stdin.isTTY && process.stdout.isTTY) });
  const lines = new Lines(rl);
  const stopWatching = new AbortController();

  let phase: 'starting' | 'prompt' | 'sending' | 'turn' = 'starting';
  let interruptedWhileSending = false;
  let turn: Turn | null = null;
  let contextId = '';

  const exit: (code: number) => never = (code) => {
    stopWatching.abort();
    rl.close();
    process.exit(code);
  };
  const fatal: (error: unknown) => never = (error) => {
    if (!atLineStart) out('\n');
    process.stderr.write(`chat: ${describeError(error, url)}\n`);
    return exit(1);
  };

  // --- what the watch tells us
  const endedRuns = new Map<string, RunEnd>();
  const pending = new Map<string, PendingCall>();
  const toolNames = new Map<string, string>();
  /** The clientMessageIds of what this CLI sent: other user messages were typed elsewhere (the web app, another terminal). */
  const sentHere = new Set<string>();
  let changed: (() => void) | null = null;
  const nextChange = () => new Promise<void>((resolve) => (changed = resolve));
  const notify = () => {
    const c = changed;
    changed = null;
    c?.();
  };

  /** Characters of each reply printed so far. */
  const shown = new Map<string, number>();
  /** When a reply's text was last printed. */
  let lastTextAt = 0;
  /** Replies of runs that stopped (cancelled, failed): their text is the stored one, anything streamed late is not theirs. */
  const closed = new Set<string>();
  const show = (reply: Reply) => {
    if (closed.has(reply.messageId)) return;
    const have = shown.get(reply.messageId) ?? 0;
    if (reply.text.length > have) {
      printReplyText(reply, reply.text.slice(have));
      lastTextAt = Date.now();
    }
    shown.set(reply.messageId, Math.max(have, reply.text.length));
  };
  /**
   * A cancelled run's last words are stored (and streamed) by its worker just
   * after the cancel: wait until the reply has been quiet a moment (at most a
   * few seconds), so they come before `[cancelled]` rather than after the prompt.
   */
  const quiet = async (quietMs = 400, maxMs = 3_000) => {
    const began = Date.now();
    for (;;) {
      const idle = Date.now() - Math.max(lastTextAt, began);
      if (idle >= quietMs || Date.now() - began >= maxMs) return;
      await new Promise((r) => setTimeout(r, quietMs - idle));
    }
  };
  /** After a run stopped: the rest of its stored partial reply if the stream has not brought all of it; then its replies are closed. */
  const settle = async (runId: string) => {
    try {
      const { messages } = await client.context.get.query({ contextId });
      for (const m of messages.filter((m) => m.runId === runId && m.role === 'assistant')) {
        closed.add(m.id);
        const text = m.parts.map((p) => (p.type === 'text' ? p.text : '')).join('');
        const have = shown.get(m.id) ?? 0;
        if (text.length > have) printReplyText({ messageId: m.id, runId, text, status: m.status, done: true }, text.slice(have));
        shown.set(m.id, Math.max(have, text.length));
      }
    } catch {
      // Only the last words of a stopped reply are at stake: what streamed stays on screen.
    }
  };

  const handle = ({ item, reply }: WatchItem) => {
    if (item.kind === 'event' && item.type === 'message.restarted' && !closed.has(item.payload.messageId)) {
      // The server retried the run after a failure: the reply starts over.
      shown.set(item.payload.messageId, 0);
      line('[the server restarted this reply after a failure; it starts over]');
    }
    if (reply) show(reply);
    if (item.kind !== 'event') return;
    switch (item.type) {
      case 'message.created': {
        const m = item.payload.message;
        if (m.role === 'user' && !(m.clientMessageId && sentHere.has(m.clientMessageId))) {
          line(`[from elsewhere] you: ${short(m.parts.map((p) => (p.type === 'text' ? p.text : '')).join('').replace(/\s+/g, ' '), 200)}`);
        }
        break;
      }
      case 'tool.requested': {
        const call = item.payload.toolCall;
        toolNames.set(call.id, call.name);
        if (call.status === 'pending_approval') pending.set(call.id, { id: call.id, runId: call.runId, name: call.name, args: call.args });
        else line(`[tool ${call.name} ${short(call.args)}]`);
        break;
      }
      case 'tool.decided': {
        const { toolCallId, status } = item.payload;
        pending.delete(toolCallId);
        const name = toolNames.get(toolCallId) ?? toolCallId;
        if (turn?.askingAbout === toolCallId) {
          // Decided while we were asking: in another window, or it waited too long.
          turn.ask?.abort();
          line(status === 'expired' ? `[tool ${name} expired: it waited too long for an answer]` : `[tool ${name} ${status} elsewhere]`);
        } else if (status === 'denied' || status === 'expired') line(`[tool ${name} ${status}]`);
        break;
      }
      case 'tool.finished': {
        const { toolCallId, status, result } = item.payload;
        line(`[tool ${toolNames.get(toolCallId) ?? toolCallId} ${status}: ${short(result)}]`);
        break;
      }
      case 'run.completed':
        endedRuns.set(item.payload.runId, { status: 'completed' });
        break;
      case 'run.cancelled':
        endedRuns.set(item.payload.runId, { status: 'cancelled' });
        break;
      case 'run.failed':
        endedRuns.set(item.payload.runId, { status: 'failed', message: item.payload.error.message });
        break;
      case 'run.interrupted':
        endedRuns.set(item.payload.runId, { status: 'interrupted', message: item.payload.error.message });
        break;
      case 'context.deleted':
        line('[this chat was deleted]');
        exit(1);
        break;
      default:
        break;
    }
    notify();
  };

  /**
   * Watches the chat until the CLI exits. The client's watch reconnects by
   * itself from the last seq after a network failure; if it ends or gives up
   * anyway, it is started again from where it was, with the replies it had
   * assembled, so no text is printed twice and none is missed.
   */
  const watchForever = async (resume: Pick<WatchOptions, 'lastEventId' | 'replies'>) => {
    let lastEventId = resume.lastEventId ?? null;
    let replies = resume.replies ?? [];
    let lost = false;
    const onConnectionState: WatchOptions['onConnectionState'] = (state) => {
      if (state === 'reconnecting' && !lost) {
        lost = true;
        line('[reconnecting]');
      } else if (state === 'live' && lost) {
        lost = false;
        line('[reconnected]');
      }
    };
    for (let failures = 0; !stopWatching.signal.aborted; failures++) {
      try {
        const items = client.watch(contextId, { lastEventId, replies, signal: stopWatching.signal, onConnectionState });
        for await (const item of items) {
          failures = 0;
          lastEventId = item.lastSeq;
          replies = item.replies;
          handle(item);
        }
      } catch (error) {
        if (stopWatching.signal.aborted) return;
        if (isFatal(error)) fatal(error);
        if (!lost) {
          lost = true;
          line(`[reconnecting: ${describeError(error, url)}]`);
        }
      }
      if (stopWatching.signal.aborted) return;
      if (!lost) {
        lost = true;
        line('[reconnecting]');
      }
      await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** Math.min(failures, 5))));
    }
  };

  // --- Ctrl-C: stops the reply while one streams, quits otherwise
  const onInterrupt = () => {
    if (phase === 'turn' && turn) {
      if (turn.cancelRequested) {
        line('[quit]');
        exit(130);
      }
      turn.cancelRequested = true;
      turn.ask?.abort();
      const runId = turn.runId;
      client.cancel(contextId, runId).catch((error: unknown) => {
        if (isFatal(error)) fatal(error);
        line(`[could not cancel: ${describeError(error, url)}]`);
        if (turn?.runId === runId) turn.cancelRequested = false;
      });
    } else if (phase === 'sending') {
      if (interruptedWhileSending) exit(130);
      interruptedWhileSending = true;
    } else {
      line('[bye]');
      exit(0);
    }
  };
  // A terminal's Ctrl-C reaches readline (raw mode); a signal (kill -INT, a pipe's parent) reaches the process.
  rl.on('SIGINT', onInterrupt);
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', () => exit(143));

  /** Follows a run to its end: approvals asked as they come, the ending said in words. */
  const followRun = async (runId: string) => {
    turn = { runId, cancelRequested: false, ask: null, askingAbout: null };
    phase = 'turn';
    try {
      if (interruptedWhileSending) {
        interruptedWhileSending = false;
        onInterrupt();
      }
      for (;;) {
        const end = endedRuns.get(runId);
        if (end) {
          if (end.status === 'cancelled') await quiet();
          if (end.status !== 'completed') await settle(runId);
          if (end.status === 'cancelled') line('[cancelled]');
          else if (end.status === 'failed') line(`[the reply failed: ${end.message}]`);
          else if (end.status === 'interrupted') line(`[the reply was interrupted: ${end.message}]`);
          else if (!atLineStart) out('\n');
          return;
        }
        const call = [...pending.values()].find((c) => c.runId === runId);
        if (call && !turn.cancelRequested) {
          await askApproval(turn, call);
          continue;
        }
        await nextChange();
      }
    } finally {
      turn = null;
      phase = 'prompt';
    }
  };

  const askApproval = async (current: Turn, call: PendingCall) => {
    line(`[tool ${call.name} wants to run with ${short(call.args)}]`);
    for (;;) {
      current.ask = new AbortController();
      current.askingAbout = call.id;
      const answer = await lines.ask(`[approve tool ${call.name}? y/n] `, current.ask.signal);
      current.ask = null;
      current.askingAbout = null;
      if (current.cancelRequested || !pending.has(call.id)) return;
      if (answer === null) {
        line('[no answer: the tool call stays pending; approve it later here or in the web app]');
        exit(0);
      }
      const word = answer.trim().toLowerCase();
      const approve = word === 'y' || word === 'yes' ? true : word === 'n' || word === 'no' ? false : null;
      if (approve === null) {
        line('[answer y or n]');
        continue;
      }
      try {
        await client.approve(contextId, call.runId, approve ? { toolCallId: call.id, approve } : { toolCallId: call.id, approve, reason: 'denied in the terminal' });
        pending.delete(call.id);
      } catch (error) {
        if (isFatal(error)) fatal(error);
        line(`[${describeError(error, url)}]`);
        if (ChatError.from(error).appCode === 'TOOL_CALL_ALREADY_DECIDED' || ChatError.from(error).appCode === 'RUN_NOT_FOUND') pending.delete(call.id);
      }
      return;
    }
  };

  // --- pick or create the chat
  const createChat = async () => {
    const { context } = await client.context.create.mutate(args.title ? { title: args.title } : {});
    return context.id;
  };
  const pickChat = async (): Promise<string> => {
    if (args.chatId) return args.chatId;
    if (args.newChat) return createChat();
    const { items } = await client.context.list.query({ limit: 20 });
    if (items.length === 0) {
      line('[no chats yet: starting a new one]');
      return createChat();
    }
    line('Your chats:');
    items.forEach((c, i) => line(`  ${String(i + 1).padStart(2)}) ${c.title || '(untitled)'}  · ${c.updatedAt.toLocaleString()}  · ${c.id}`));
    line('   n) a new chat');
    for (;;) {
      const answer = await lines.ask(`pick a chat [1-${items.length}, or n]> `);
      if (answer === null) {
        line('[bye]');
        exit(0);
      }
      const word = answer.trim().toLowerCase();
      if (word === 'n' || word === 'new' || word === '') return createChat();
      const picked = /^\d+$/.test(word) ? items[Number(word) - 1] : undefined;
      if (picked) return picked.id;
      line(`[${word} is not one of the chats: a number from 1 to ${items.length}, or n]`);
    }
  };

  try {
    contextId = await pickChat();
    const opened = await client.context.get.query({ contextId });
    line(`[chat ${opened.context.id}] ${opened.context.title || '(untitled)'}`);
    // The last few messages for context; a reply still streaming is left to the watch, which prints it whole.
    const finished = opened.messages.filter((m) => (m.role === 'user' || m.role === 'assistant') && m.status !== 'streaming' && m.status !== 'queued');
    for (const m of finished.slice(-6)) {
      const text = m.parts.map((p) => (p.type === 'text' ? p.text : '')).join('').trim();
      if (text) line(`  ${m.role === 'user' ? 'you' : 'assistant'}: ${short(text.replace(/\s+/g, ' '), 200)}`);
    }
    const replies = opened.messages
      .filter((m) => m.role === 'assistant' && m.status !== 'streaming' && m.status !== 'queued')
      .map((m) => ({ messageId: m.id, runId: m.runId, text: m.parts.map((p) => (p.type === 'text' ? p.text : '')).join(''), status: m.status, done: true }));
    for (const r of replies) shown.set(r.messageId, r.text.length);
    void watchForever({ lastEventId: opened.context.lastEventSeq, replies });
    // A reply already under way (started elsewhere, or before this CLI restarted): follow it first.
    const active = opened.state.activeRun;
    if (active) {
      for (const call of opened.state.pendingToolCalls) {
        toolNames.set(call.id, call.name);
        pending.set(call.id, { ...call, runId: active.id });
      }
      line('[a reply is under way]');
      await followRun(active.id);
    }
  } catch (error) {
    fatal(error);
  }

  phase = 'prompt';
  for (;;) {
    const text = await lines.ask('you> ');
    if (text === null) {
      line('[bye]');
      exit(0);
    }
    if (!text.trim()) continue;
    phase = 'sending';
    let runId: string;
    const clientMessageId = newId();
    sentHere.add(clientMessageId);
    try {
      ({
        run: { id: runId },
      } = await client.send(contextId, text, { clientMessageId }));
    } catch (error) {
      phase = 'prompt';
      interruptedWhileSending = false;
      if (isFatal(error)) fatal(error);
      line(`[not sent: ${describeError(error, url)}]`);
      continue;
    }
    await followRun(runId);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`chat: ${error instanceof ChatError ? describeError(error, process.env.CHAT_URL || 'http://localhost:3000') : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
