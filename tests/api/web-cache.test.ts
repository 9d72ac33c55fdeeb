import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyStreamItem, type PersistedItem } from '../../apps/web/lib/context-cache.ts';
import type { ContextDetail } from '../../apps/web/lib/types.ts';
import { createTestDatabase } from '../support/database.ts';
import { startServer, waitFor, waitIdle, type TestServer } from '../support/server.ts';

/**
 * The web app's cache applies the server's events with core's reducer (the
 * one `rebuild` replays the log with). Fed a chat's event log from an early
 * `context.get`, it must hold what a fresh `context.get` returns.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startServer({ databaseUrl: await createTestDatabase(), env: { LOCAL_MODEL_TOKEN_DELAY_MS: '2' } });
});
afterAll(async () => {
  await server?.stop();
});

type Client = ReturnType<TestServer['client']>;

async function eventsAfter(client: Client, contextId: string, afterSeq: number): Promise<PersistedItem[]> {
  const items: PersistedItem[] = [];
  for (let seq = afterSeq; ; ) {
    const page = await client.events.list.query({ contextId, afterSeq: seq, limit: 1000 });
    items.push(...page.events.map((e) => ({ kind: 'event', ...e }) as PersistedItem));
    if (page.events.length < 1000) return items;
    seq = page.events.at(-1)!.seq;
  }
}

/**
 * What the screen is drawn from. Left out, as `rebuild` leaves them out:
 * `version` (bumped per save, not in the log: approvals read it fresh) and
 * `updatedAt`; the server's copy has only the tool calls of the page's runs.
 */
function shown(detail: ContextDetail) {
  const runIds = new Set(detail.messages.flatMap((m) => (m.runId ? [m.runId] : [])));
  const { updatedAt: _updated, version: _version, ...context } = detail.context;
  const { version: _stateVersion, ...state } = detail.state;
  return {
    context,
    state,
    branch: detail.branch,
    branches: [...detail.branches].sort((a, b) => a.id.localeCompare(b.id)),
    messages: detail.messages,
    toolCalls: detail.toolCalls.filter((t) => runIds.has(t.runId)).sort((a, b) => a.id.localeCompare(b.id)),
    latestRun: detail.latestRun,
  };
}

function fold(start: ContextDetail, items: PersistedItem[]) {
  let detail = start;
  let refetches = 0;
  for (const item of items) {
    const r = applyStreamItem(detail, item);
    detail = r.detail;
    if (r.refetch) refetches++;
  }
  return { detail, refetches };
}

describe('the web cache, fed the event log, equals a fresh context.get', () => {
  it('through replies, an edit, a tool approval, a failure and its recovery, queued questions and a regenerate', async () => {
    const client = server.client('web-cache');
    const { context } = await client.context.create.mutate({});
    const id = context.id;
    const atCreate = await client.context.get.query({ contextId: id });

    const first = await client.chat.sendMessage.mutate({ contextId: id, content: 'first' });
    await waitIdle(client, id);
    // An edit forks a branch (and switches to it).
    await client.chat.sendMessage.mutate({ contextId: id, content: 'first, edited', editOfMessageId: first.message.id });
    await waitIdle(client, id);
    const afterFirst = await client.context.get.query({ contextId: id });

    // A tool that asks for approval.
    await client.chat.sendMessage.mutate({ contextId: id, content: '/tool save_note {"title":"T","body":"remember"}' });
    const awaiting = await waitFor(
      async () => {
        const s = await client.context.state.query({ contextId: id });
        return s.state.type === 'AwaitingToolApproval' ? s : null;
      },
      { what: 'an approval to be asked for' },
    );
    await client.chat.approveTools.mutate({
      contextId: id,
      runId: awaiting.activeRun!.id,
      decisions: awaiting.pendingToolCalls.map((t) => ({ toolCallId: t.id, approve: true })),
    });
    await waitIdle(client, id);

    // A failed run sets lastError; the next success clears it.
    await client.chat.sendMessage.mutate({ contextId: id, content: '/fail' });
    await waitIdle(client, id);
    expect((await client.context.state.query({ contextId: id })).lastError).not.toBeNull();

    // Questions queued behind a running reply.
    await client.chat.sendMessage.mutate({ contextId: id, content: '/long 40' });
    await client.chat.sendMessage.mutate({ contextId: id, content: 'queued one' });
    await client.chat.sendMessage.mutate({ contextId: id, content: 'queued two' });
    await waitIdle(client, id);

    // A regenerate forks another (the path up to the question stays).
    const before = await client.context.get.query({ contextId: id });
    await client.chat.regenerate.mutate({ contextId: id, messageId: before.messages.at(-1)!.id });
    await waitIdle(client, id);

    const fresh = await client.context.get.query({ contextId: id });
    expect(fresh.state.lastError).toBeNull();
    expect(fresh.branches.length).toBe(3);
    // The shown path holds every kind of message the scenario made.
    expect(fresh.messages.filter((m) => m.role === 'user').map((m) => m.parts[0])).toEqual(
      ['first, edited', '/tool save_note {"title":"T","body":"remember"}', '/fail', '/long 40', 'queued one', 'queued two'].map((text) => ({ type: 'text', text })),
    );
    expect(fresh.messages.some((m) => m.role === 'tool')).toBe(true);

    for (const start of [atCreate, afterFirst]) {
      const items = await eventsAfter(client, id, start.context.lastEventSeq);
      expect(items.length).toBeGreaterThan(20);
      const { detail, refetches } = fold(start, items);
      expect(shown(detail)).toEqual(shown(fresh));
      // Refetches are a safety net (one per run's end, and the branch switches), not how the cache keeps up.
      expect(refetches).toBeLessThan(items.length / 3);
    }
  });

  it('a switch back to a branch whose messages are not loaded changes only what the event says, and asks for a refetch', async () => {
    const client = server.client('web-cache');
    const { context } = await client.context.create.mutate({});
    const id = context.id;
    const sent = await client.chat.sendMessage.mutate({ contextId: id, content: 'hello' });
    await waitIdle(client, id);
    const main = await client.context.get.query({ contextId: id });
    await client.chat.sendMessage.mutate({ contextId: id, content: 'hello again', editOfMessageId: sent.message.id });
    await waitIdle(client, id);
    const onFork = await client.context.get.query({ contextId: id });
    await client.context.switchBranch.mutate({ contextId: id, branchId: main.branch!.id });

    const items = await eventsAfter(client, id, onFork.context.lastEventSeq);
    expect(items.map((i) => i.type)).toContain('branch.switched');
    const switched = applyStreamItem(onFork, items.find((i) => i.type === 'branch.switched')!);
    expect(switched.refetch).toBe(true);
    expect(switched.detail.context.activeBranchId).toBe(main.branch!.id);
    // The fork's messages stay on screen until the refetch brings the main branch's.
    expect(switched.detail.messages).toBe(onFork.messages);
  });
});
