import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { startServer, waitFor, waitIdle, type Client, type TestServer } from '../support/server.ts';
import { verifyReplay } from '../support/verify-replay.ts';

/**
 * Transcript order with a queue (issue 10, DESIGN §3): questions sent while a
 * reply runs wait off the path, so every reader sees each reply right after its
 * question, and edits and regenerates fork from the right place.
 */
let server: TestServer;
let databaseUrl: string;
let client: Client;
beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  server = await startServer({ databaseUrl, env: { LOCAL_MODEL_TOKEN_DELAY_MS: '3' } });
  client = server.client('transcript-owner', { batch: false });
});
afterAll(async () => {
  await server?.stop();
});

type Item = Awaited<ReturnType<Client['context']['messages']['query']>>['items'][number];
const textOf = (m: Item) => m.parts.map((p) => (p.type === 'text' ? p.text : p.type === 'tool-call' ? `[call ${p.toolName}]` : '[result]')).join('');

/** The active branch as "role:text" lines, checking the parent chain and the seq order on the way. */
async function transcript(contextId: string): Promise<string[]> {
  const { items } = await client.context.messages.query({ contextId, limit: 500 });
  items.forEach((m, i) => {
    expect(m.parentId).toBe(i === 0 ? null : items[i - 1]!.id);
    if (i > 0) expect(m.seq).toBeGreaterThan(items[i - 1]!.seq);
  });
  return items.map((m) => `${m.role}:${textOf(m).split(' /long')[0]}`);
}

const said = (q: string) => `assistant:You said: "${q}`;

async function sendQueued(contextId: string, questions: string[]) {
  const sent = [];
  for (const q of questions) sent.push(await client.chat.sendMessage.mutate({ contextId, content: q }));
  return sent;
}

async function branchOf(contextId: string) {
  const { context, branches } = await client.context.get.query({ contextId });
  return { active: context.activeBranchId!, main: branches.find((b) => b.name === 'main')!.id };
}

describe('queued turns stay in their place', () => {
  it('A, B, C sent while A runs read A a1 B b1 C c1 everywhere; regenerates and edits fork from the right place', async () => {
    const { context } = await client.context.create.mutate({});
    const id = context.id;
    const [a, b, c] = await sendQueued(id, ['A /long 60', 'B /long 5', 'C /long 5']);

    // While A runs, B and C wait after the path, marked queued, and A's reply comes right after A.
    const during = await client.context.get.query({ contextId: id });
    const queued = during.messages.filter((m) => m.status === 'queued').map((m) => m.id);
    expect(queued).toEqual([b!.message.id, c!.message.id]);
    expect(during.messages.slice(-2).map((m) => m.id)).toEqual(queued);

    await waitIdle(client, id, 60_000);
    const expected = ['user:A', said('A'), 'user:B', said('B'), 'user:C', said('C')];
    const lines = await transcript(id);
    expect(lines).toHaveLength(6);
    lines.forEach((line, i) => expect(line.startsWith(expected[i]!)).toBe(true));
    // context.get, another reader, agrees.
    const got = await client.context.get.query({ contextId: id });
    expect(got.messages.map((m) => m.id)).toEqual((await client.context.messages.query({ contextId: id, limit: 500 })).items.map((m) => m.id));
    expect(got.messages.every((m) => m.status === 'complete')).toBe(true);

    const replies = (await client.context.messages.query({ contextId: id, limit: 500 })).items.filter((m) => m.role === 'assistant');
    const [a1, b1] = replies;
    expect(a1!.runId).toBe(a!.run.id);

    // Regenerate a1: A a1', nothing of B or C.
    await client.chat.regenerate.mutate({ contextId: id, messageId: a1!.id });
    await waitIdle(client, id, 60_000);
    expect(await transcript(id)).toEqual(['user:A', expect.stringMatching(/^assistant:You said: "A/)]);

    const { main } = await branchOf(id);
    // Regenerate b1: A a1 B b1'.
    await client.context.switchBranch.mutate({ contextId: id, branchId: main });
    await client.chat.regenerate.mutate({ contextId: id, messageId: b1!.id });
    await waitIdle(client, id, 60_000);
    const regenerated = await transcript(id);
    expect(regenerated).toHaveLength(4);
    expect(regenerated.slice(0, 3)).toEqual((await transcriptOfBranch(id, main)).slice(0, 3));
    expect(regenerated[2]).toBe('user:B');

    // Edit B: A a1 B' b1''.
    await client.context.switchBranch.mutate({ contextId: id, branchId: main });
    await client.chat.sendMessage.mutate({ contextId: id, content: "B'", editOfMessageId: b!.message.id });
    await waitIdle(client, id, 60_000);
    const edited = await transcript(id);
    expect(edited.slice(0, 2)).toEqual(regenerated.slice(0, 2));
    expect(edited.slice(2)).toEqual(["user:B'", expect.stringMatching(/^assistant:You said: "B'"/)]);

    // Edit A: A' a1''.
    await client.context.switchBranch.mutate({ contextId: id, branchId: main });
    await client.chat.sendMessage.mutate({ contextId: id, content: "A'", editOfMessageId: a!.message.id });
    await waitIdle(client, id, 60_000);
    expect(await transcript(id)).toEqual(["user:A'", expect.stringMatching(/^assistant:You said: "A'"/)]);

    // The main branch is unchanged by all of it.
    const mainLines = await transcriptOfBranch(id, main);
    mainLines.forEach((line, i) => expect(line.startsWith(expected[i]!)).toBe(true));
    expect(c!.message.id).toBeTruthy();
  });

  it('with an approval pending in the middle, the queued question waits until the approved reply is done', async () => {
    const { context } = await client.context.create.mutate({});
    const id = context.id;
    const [first] = await sendQueued(id, ['/tool save_note {"title":"T","body":"x"}']);
    const state = await waitFor(
      async () => {
        const s = await client.context.state.query({ contextId: id });
        return s.state.type === 'AwaitingToolApproval' ? s : null;
      },
      { what: 'the approval request' },
    );
    const [second] = await sendQueued(id, ['B']);
    expect(second!.message.status).toBe('queued');
    await client.chat.approveTools.mutate({
      contextId: id,
      runId: first!.run.id,
      decisions: state.pendingToolCalls.map((t) => ({ toolCallId: t.id, approve: true })),
    });
    await waitIdle(client, id, 60_000);
    const lines = await transcript(id);
    expect(lines.map((l) => l.split(':')[0])).toEqual(['user', 'assistant', 'tool', 'assistant', 'user', 'assistant']);
    expect(lines[4]).toBe('user:B');
    expect(lines[5]).toMatch(/^assistant:You said: "B"/);
  });

  it('a question cancelled while queued joins the transcript in its place, without a reply', async () => {
    const { context } = await client.context.create.mutate({});
    const id = context.id;
    const [, b] = await sendQueued(id, ['A /long 40', 'B', 'C']);
    await client.chat.cancel.mutate({ contextId: id, runId: b!.run.id });
    await waitIdle(client, id, 60_000);
    const lines = await transcript(id);
    expect(lines.map((l) => l.slice(0, 22))).toEqual(['user:A', said('A').slice(0, 22), 'user:B', 'user:C', said('C').slice(0, 22)]);
  });

  it('editing a question still waiting in the queue is refused, and the log rebuilds to the stored rows', async () => {
    const { context } = await client.context.create.mutate({});
    const id = context.id;
    const [, b] = await sendQueued(id, ['A /long 40', 'B']);
    await expect(client.chat.sendMessage.mutate({ contextId: id, content: 'B2', editOfMessageId: b!.message.id })).rejects.toMatchObject({
      data: { appCode: 'MESSAGE_QUEUED' },
    });
    await waitIdle(client, id, 60_000);
    const replay = await verifyReplay(databaseUrl);
    expect(replay.output).toMatch(/verify-replay: \d+ contexts checked, 0 differ/);
    expect(replay.code).toBe(0);
  });
});

async function transcriptOfBranch(contextId: string, branchId: string) {
  const { items } = await client.context.messages.query({ contextId, branchId, limit: 500 });
  return items.map((m) => `${m.role}:${textOf(m).split(' /long')[0]}`);
}
