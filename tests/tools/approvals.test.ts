import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { sql } from '../support/sql.ts';
import { errorOf, startServer, waitFor, waitIdle, type Client, type TestServer } from '../support/server.ts';

let databaseUrl: string;
let server: TestServer;
beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  server = await startServer({ databaseUrl });
});
afterAll(async () => {
  await server?.stop();
});

const notes = (contextId: string) =>
  sql<{ title: string; body: string; toolCallId: string }>(databaseUrl, `SELECT title, body, "toolCallId" FROM "Note" WHERE "contextId" = $1`, [contextId]);

async function awaitingApproval(client: Client, contextId: string) {
  return waitFor(
    async () => {
      const s = await client.context.state.query({ contextId });
      return s.state.type === 'AwaitingToolApproval' ? s : null;
    },
    { what: 'AwaitingToolApproval' },
  );
}

async function lastReply(client: Client, contextId: string) {
  const { messages } = await client.context.get.query({ contextId });
  const reply = messages.filter((m) => m.role === 'assistant').at(-1)!;
  return (reply.parts.find((p) => p.type === 'text') as { text: string }).text;
}

describe('tools with human approval', () => {
  it('approve: the note is stored exactly once, the reply quotes the result, the context is Idle', async () => {
    const client = server.client('tools');
    const { context } = await client.context.create.mutate({});
    const sent = await client.chat.sendMessage.mutate({
      contextId: context.id,
      content: '/tool save_note {"title":"Groceries","body":"milk, eggs"}',
    });
    const state = await awaitingApproval(client, context.id);
    expect(state.pendingToolCalls).toEqual([{ id: expect.any(String), name: 'save_note', args: { title: 'Groceries', body: 'milk, eggs' } }]);
    expect(state.activeRun).toMatchObject({ id: sent.run.id, status: 'awaiting_approval' });
    expect(await notes(context.id)).toEqual([]);

    const call = state.pendingToolCalls[0]!;
    const approved = await client.chat.approveTools.mutate({
      contextId: context.id,
      runId: sent.run.id,
      decisions: [{ toolCallId: call.id, approve: true }],
      expectedVersion: state.version,
      idempotencyKey: 'approve-1',
    });
    expect(approved.replayed).toBe(false);
    await waitIdle(client, context.id);
    expect(await notes(context.id)).toEqual([{ title: 'Groceries', body: 'milk, eggs', toolCallId: call.id }]);
    const reply = await lastReply(client, context.id);
    expect(reply).toMatch(/^Tool save_note returned: /);
    expect(JSON.parse(reply.replace('Tool save_note returned: ', ''))).toEqual({ saved: true, noteId: expect.stringMatching(/^note_/), title: 'Groceries' });
    const { toolCalls } = await client.run.latest.query({ contextId: context.id });
    // Decided by the caller: the user behind the token (the chat's owner).
    const { context: owned } = await client.context.get.query({ contextId: context.id });
    expect(toolCalls.map((t) => [t.name, t.status, t.decidedBy])).toEqual([['save_note', 'succeeded', owned.ownerId]]);

    // The same approval again (a retry with its key) replays and runs nothing.
    const replay = await client.chat.approveTools.mutate({
      contextId: context.id,
      runId: sent.run.id,
      decisions: [{ toolCallId: call.id, approve: true }],
      expectedVersion: state.version,
      idempotencyKey: 'approve-1',
    });
    expect(replay).toMatchObject({ replayed: true, run: approved.run });
    expect(await notes(context.id)).toHaveLength(1);
  });

  it('deny: no note, and the reply acknowledges the denial', async () => {
    const client = server.client('tools');
    const { context } = await client.context.create.mutate({});
    const sent = await client.chat.sendMessage.mutate({ contextId: context.id, content: '/tool save_note {"title":"Secret","body":"x"}' });
    const state = await awaitingApproval(client, context.id);
    await client.chat.approveTools.mutate({
      contextId: context.id,
      runId: sent.run.id,
      decisions: [{ toolCallId: state.pendingToolCalls[0]!.id, approve: false, reason: 'not now' }],
    });
    await waitIdle(client, context.id);
    expect(await notes(context.id)).toEqual([]);
    expect(await lastReply(client, context.id)).toBe('Tool save_note was denied: not now');
    const { toolCalls } = await client.run.latest.query({ contextId: context.id });
    expect(toolCalls[0]).toMatchObject({ status: 'denied', reason: 'not now' });
  });

  it('partial approval waits for every call; stale versions and unknown ids are refused', async () => {
    const client = server.client('tools');
    const { context } = await client.context.create.mutate({});
    const sent = await client.chat.sendMessage.mutate({
      contextId: context.id,
      content: '/tool save_note {"title":"one","body":"1"}\n/tool save_note {"title":"two","body":"2"}',
    });
    const state = await awaitingApproval(client, context.id);
    expect(state.pendingToolCalls).toHaveLength(2);
    const [first, second] = state.pendingToolCalls;

    expect(
      await errorOf(
        client.chat.approveTools.mutate({ contextId: context.id, runId: sent.run.id, decisions: [{ toolCallId: 'tool_nope', approve: true }] }),
      ),
    ).toMatchObject({ code: 'NOT_FOUND', appCode: 'TOOL_CALL_NOT_FOUND' });

    await client.chat.approveTools.mutate({
      contextId: context.id,
      runId: sent.run.id,
      decisions: [{ toolCallId: first!.id, approve: true }],
      expectedVersion: state.version,
    });
    const after = await client.context.state.query({ contextId: context.id });
    expect(after.state.type).toBe('AwaitingToolApproval');
    expect(after.pendingToolCalls.map((p) => p.id)).toEqual([second!.id]);
    expect(await notes(context.id)).toEqual([]); // nothing runs before every call is decided

    const stale = await errorOf(
      client.chat.approveTools.mutate({
        contextId: context.id,
        runId: sent.run.id,
        decisions: [{ toolCallId: second!.id, approve: true }],
        expectedVersion: state.version,
      }),
    );
    expect(stale).toMatchObject({ code: 'CONFLICT', appCode: 'STALE_VERSION' });
    const decidedTwice = await errorOf(
      client.chat.approveTools.mutate({ contextId: context.id, runId: sent.run.id, decisions: [{ toolCallId: first!.id, approve: true }] }),
    );
    expect(decidedTwice).toMatchObject({ code: 'CONFLICT', appCode: 'TOOL_CALL_ALREADY_DECIDED' });

    await client.chat.approveTools.mutate({
      contextId: context.id,
      runId: sent.run.id,
      decisions: [{ toolCallId: second!.id, approve: true }],
      expectedVersion: after.version,
    });
    await waitIdle(client, context.id);
    expect((await notes(context.id)).map((n) => n.title).sort()).toEqual(['one', 'two']);
    const reply = await lastReply(client, context.id);
    expect(reply).toContain('"title":"one"');
    expect(reply).toContain('"title":"two"');
  });

  it('runs auto-approved tools directly and reports invalid arguments as a tool error', async () => {
    const client = server.client('tools');
    const { context } = await client.context.create.mutate({});
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'what time is it?' });
    await waitIdle(client, context.id);
    expect(await lastReply(client, context.id)).toMatch(/^Tool get_current_time returned: \{"now":"\d{4}-\d\d-\d\dT[\d:.]+Z"\}$/);

    await client.chat.sendMessage.mutate({ contextId: context.id, content: '/tool calculate {"expression":"2*(3+4)^2 - 1"}' });
    await waitIdle(client, context.id);
    const calculated = await lastReply(client, context.id);
    expect(JSON.parse(calculated.replace('Tool calculate returned: ', ''))).toEqual({ expression: '2*(3+4)^2 - 1', value: 97 });

    await client.chat.sendMessage.mutate({ contextId: context.id, content: '/tool save_note {"title": 5}' });
    await waitIdle(client, context.id);
    expect(await lastReply(client, context.id)).toMatch(/^Tool save_note failed: .*invalid arguments/);
    expect(await notes(context.id)).toEqual([]);
    const { toolCalls } = await client.run.latest.query({ contextId: context.id });
    expect(toolCalls[0]).toMatchObject({ name: 'save_note', status: 'failed' });

    await client.chat.sendMessage.mutate({ contextId: context.id, content: '/tool calculate {"expression":"process.exit(1)"}' });
    await waitIdle(client, context.id);
    expect(await lastReply(client, context.id)).toMatch(/^Tool calculate failed: .*unexpected/);
  });
});

describe('approvals across restarts, crashes and time', () => {
  it('pending approvals survive a restart, and approving them then completes the run', async () => {
    const client = server.client('tools-restart');
    const { context } = await client.context.create.mutate({});
    const sent = await client.chat.sendMessage.mutate({ contextId: context.id, content: '/tool save_note {"title":"after restart","body":"b"}' });
    const state = await awaitingApproval(client, context.id);
    await server.stop();
    server = await startServer({ databaseUrl });
    const again = server.client('tools-restart');
    const reloaded = await again.context.state.query({ contextId: context.id });
    expect(reloaded.pendingToolCalls).toEqual(state.pendingToolCalls);
    await again.chat.approveTools.mutate({
      contextId: context.id,
      runId: sent.run.id,
      decisions: [{ toolCallId: state.pendingToolCalls[0]!.id, approve: true }],
    });
    await waitIdle(again, context.id);
    expect((await notes(context.id)).map((n) => n.title)).toEqual(['after restart']);
  });

  it('a server killed while a tool runs never runs it twice', async () => {
    const env = { TOOL_DELAY_MS: '3000', LEASE_MS: '1000', SWEEP_INTERVAL_MS: '200', POLL_INTERVAL_MS: '200' };
    await server.stop();
    server = await startServer({ databaseUrl, env });
    const client = server.client('tools-crash');
    const { context } = await client.context.create.mutate({});
    const sent = await client.chat.sendMessage.mutate({ contextId: context.id, content: '/tool save_note {"title":"once","body":"b"}' });
    const state = await awaitingApproval(client, context.id);
    await client.chat.approveTools.mutate({
      contextId: context.id,
      runId: sent.run.id,
      decisions: [{ toolCallId: state.pendingToolCalls[0]!.id, approve: true }],
    });
    await waitFor(async () => {
      const [call] = await sql<{ status: string }>(databaseUrl, `SELECT status FROM "ToolCall" WHERE id = $1`, [state.pendingToolCalls[0]!.id]);
      return call?.status === 'running';
    });
    await server.kill('SIGKILL');
    server = await startServer({ databaseUrl, env });
    await waitIdle(server.client('tools-crash'), context.id, 30_000);
    // A bounded "nothing more happens" window, not a wait for a condition (no event marks something that
    // does not happen): longer than TOOL_DELAY_MS, so a second execution, had recovery started one, would have landed.
    await new Promise((r) => setTimeout(r, 3500));
    expect(await notes(context.id)).toEqual([]);
    const [call] = await sql<{ status: string; result: { error: string } }>(databaseUrl, `SELECT status, result FROM "ToolCall" WHERE id = $1`, [
      state.pendingToolCalls[0]!.id,
    ]);
    expect(call).toMatchObject({ status: 'failed', result: { error: expect.stringMatching(/not run again/) } });
    const [run] = await sql<{ status: string }>(databaseUrl, `SELECT status FROM "Run" WHERE id = $1`, [sent.run.id]);
    expect(run!.status).toBe('completed');
    expect(await lastReply(server.client('tools-crash'), context.id)).toMatch(/^Tool save_note failed: .*not run again/);
  });

  it('a run cancelled while its tool runs still records what the tool did', async () => {
    await server.stop();
    server = await startServer({ databaseUrl, env: { TOOL_DELAY_MS: '1500' } });
    const client = server.client('tools-cancel');
    const { context } = await client.context.create.mutate({});
    const sent = await client.chat.sendMessage.mutate({ contextId: context.id, content: '/tool save_note {"title":"mid-cancel","body":"b"}' });
    const state = await awaitingApproval(client, context.id);
    const callId = state.pendingToolCalls[0]!.id;
    await client.chat.approveTools.mutate({ contextId: context.id, runId: sent.run.id, decisions: [{ toolCallId: callId, approve: true }] });
    await waitFor(async () => (await sql<{ status: string }>(databaseUrl, `SELECT status FROM "ToolCall" WHERE id = $1`, [callId]))[0]?.status === 'running');
    await client.chat.cancel.mutate({ contextId: context.id, runId: sent.run.id });
    await waitIdle(client, context.id);
    const call = await waitFor(async () => {
      const [row] = await sql<{ status: string }>(databaseUrl, `SELECT status FROM "ToolCall" WHERE id = $1`, [callId]);
      return row?.status === 'running' ? null : row;
    });
    expect(call.status).toBe('succeeded');
    expect((await notes(context.id)).map((n) => n.title)).toEqual(['mid-cancel']);
    const [run] = await sql<{ status: string }>(databaseUrl, `SELECT status FROM "Run" WHERE id = $1`, [sent.run.id]);
    expect(run!.status).toBe('cancelled');
  });

  it('an undecided call expires, is denied as expired, and the run completes', async () => {
    await server.stop();
    server = await startServer({ databaseUrl, env: { APPROVAL_TIMEOUT_MS: '700', SWEEP_INTERVAL_MS: '100' } });
    const client = server.client('tools-expiry');
    const { context } = await client.context.create.mutate({});
    await client.chat.sendMessage.mutate({ contextId: context.id, content: '/tool save_note {"title":"late","body":"b"}' });
    await awaitingApproval(client, context.id);
    await waitIdle(client, context.id, 15_000);
    const { toolCalls } = await client.run.latest.query({ contextId: context.id });
    expect(toolCalls[0]).toMatchObject({ status: 'expired', decidedBy: 'system' });
    expect(await lastReply(client, context.id)).toBe('Tool save_note was denied: approval expired');
    expect(await notes(context.id)).toEqual([]);
  });
});
