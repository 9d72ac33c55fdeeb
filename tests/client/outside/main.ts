// A program outside this repository, on the published @chat/client alone:
// tests/client/pack.test.ts installs the packed tarball in an empty
// directory, type-checks this file with strict tsc and runs it against a live
// server. The README's typed-client example is copied from the first part.
import { ChatError, createChatClient, type ChatClient, type Reply } from '@chat/client';
import { EventSource } from 'eventsource'; // Node has no global EventSource

// --- README example: start ---
const chat = createChatClient({
  url: process.env.CHAT_URL ?? 'http://localhost:3000',
  token: process.env.CHAT_TOKEN, // Settings page of the web app, or apiToken.create
  EventSource,
});

const { context } = await chat.context.create.mutate({ title: 'Support' });
// send() makes the clientMessageId and idempotencyKey and retries with them: stored once.
const sent = await chat.send(context.id, 'Hello!');

// watch() assembles the reply; `appended` is the text each item added.
for await (const item of chat.watch(context.id, { lastEventId: 0 })) {
  process.stdout.write(item.appended);
  if (item.item.type === 'run.completed' && item.item.payload.runId === sent.run.id) break;
}
// --- README example: end ---

/** What the test checks: each step's result as the server and the client saw it. */
const report: Record<string, unknown> = { contextId: context.id, hello: { runId: sent.run.id, replayed: sent.replayed } };

/** Watches from `lastEventId` until `until` says stop; returns the text appended and where it stopped. */
async function watchUntil(client: ChatClient, contextId: string, from: { lastEventId: number; replies?: Reply[] }, until: (type: string, payload: unknown, text: string) => boolean) {
  let text = '';
  let lastSeq = from.lastEventId;
  let replies: Reply[] = from.replies ?? [];
  for await (const item of client.watch(contextId, { lastEventId: from.lastEventId, ...(from.replies ? { replies: from.replies } : {}) })) {
    text += item.appended;
    lastSeq = item.lastSeq;
    replies = item.replies;
    if (until(item.item.type, item.item.payload, text)) break;
  }
  return { text, lastSeq, replies };
}
const isRun = (runId: string) => (payload: unknown) => (payload as { runId?: string }).runId === runId;
const storedReply = async (contextId: string, runId: string) => {
  const { messages } = await chat.context.get.query({ contextId });
  const replies = messages.filter((m) => m.role === 'assistant' && m.runId === runId);
  return replies.map((m) => ({ status: m.status, text: m.parts.map((p) => (p.type === 'text' ? p.text : '')).join('') }));
};

// 1. A send whose answer is lost: the client retries with the same key, the server stores it once.
let lostAnswers = 0;
const flaky = createChatClient({
  url: process.env.CHAT_URL ?? 'http://localhost:3000',
  token: process.env.CHAT_TOKEN,
  EventSource,
  fetch: async (input, init) => {
    const response = await fetch(input, init);
    if (lostAnswers === 0 && String(input).includes('chat.sendMessage')) {
      lostAnswers++;
      throw new TypeError('fetch failed: the answer was lost after the server stored the message');
    }
    return response;
  },
});
const retried: number[] = [];
const once = await flaky.send(context.id, 'Stored once, please', { onRetry: ({ attempt }) => retried.push(attempt) });
await watchUntil(chat, context.id, { lastEventId: 0 }, (type, payload) => type === 'run.completed' && isRun(once.run.id)(payload));
const { messages } = await chat.context.get.query({ contextId: context.id });
report.retry = {
  lostAnswers,
  replayed: once.replayed,
  storedCopies: messages.filter((m) => m.role === 'user' && m.clientMessageId === once.clientMessageId).length,
  reply: await storedReply(context.id, once.run.id),
};

// 2. Resume: stop watching mid-reply, watch again from the last seq with the text already had.
const before = (await chat.context.state.query({ contextId: context.id })).lastEventSeq;
const long = await chat.send(context.id, '/long 60');
const first = await watchUntil(chat, context.id, { lastEventId: before }, (_type, _payload, text) => text.length >= 40);
const rest = await watchUntil(chat, context.id, { lastEventId: first.lastSeq, replies: first.replies }, (type, payload) => type === 'run.completed' && isRun(long.run.id)(payload));
report.resume = { firstPart: first.text, rest: rest.text, resumedFrom: first.lastSeq, reply: await storedReply(context.id, long.run.id) };

// 3. A tool that needs approval: approve it, the run goes on.
const seqTool = (await chat.context.state.query({ contextId: context.id })).lastEventSeq;
const tool = await chat.send(context.id, '/tool save_note {"title":"From outside","body":"typed client"}');
let toolCallId = '';
await watchUntil(chat, context.id, { lastEventId: seqTool }, (type, payload) => {
  const call = (payload as { toolCall?: { id: string; status: string } }).toolCall;
  if (type === 'tool.requested' && call?.status === 'pending_approval') toolCallId = call.id;
  return type === 'run.status_changed' && (payload as { status?: string }).status === 'awaiting_approval';
});
const seqApproved = (await chat.context.state.query({ contextId: context.id })).lastEventSeq;
await chat.approve(context.id, tool.run.id, { toolCallId, approve: true });
const afterTool = await watchUntil(chat, context.id, { lastEventId: seqApproved }, (type, payload) => type === 'run.completed' && isRun(tool.run.id)(payload));
const toolCalls = (await chat.context.get.query({ contextId: context.id })).toolCalls.filter((t) => t.id === toolCallId);
report.approval = { toolCallId, status: toolCalls[0]?.status, replyAfter: afterTool.text };

// 4. Cancel a reply mid-stream: the partial reply is kept.
const seqCancel = (await chat.context.state.query({ contextId: context.id })).lastEventSeq;
const slow = await chat.send(context.id, '/long 400');
let cancelled = false;
const partial = await watchUntil(chat, context.id, { lastEventId: seqCancel }, (type, payload, text) => {
  if (!cancelled && text.length > 0) {
    cancelled = true;
    void chat.cancel(context.id, slow.run.id);
  }
  return type === 'run.cancelled' && isRun(slow.run.id)(payload);
});
const runs = await chat.run.list.query({ contextId: context.id });
report.cancel = { seen: partial.text, runStatus: runs.find((r) => r.id === slow.run.id)?.status, reply: await storedReply(context.id, slow.run.id) };

// 5. A typed error.
try {
  await chat.context.get.query({ contextId: 'no-such-chat' });
  report.error = 'none';
} catch (error) {
  // Procedure calls throw tRPC's TRPCClientError; ChatError.from types it (the helpers throw ChatErrors already).
  report.error = ChatError.from(error).appCode;
}

console.log(`\nREPORT ${JSON.stringify(report)}`);
