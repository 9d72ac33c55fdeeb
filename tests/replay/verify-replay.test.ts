import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { sql } from '../support/sql.ts';
import { startServer, waitFor, waitIdle, type TestServer } from '../support/server.ts';
import { verifyReplay } from '../support/verify-replay.ts';

let databaseUrl: string;
let server: TestServer;
beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  server = await startServer({ databaseUrl, env: { LOCAL_MODEL_TOKEN_DELAY_MS: '2', CHECKPOINT_INTERVAL_MS: '20' } });
});
afterAll(async () => {
  await server?.stop();
});


describe('npm run verify-replay', () => {
  it('passes after a varied workload and fails with a diff when a row was changed behind the log', async () => {
    const client = server.client('replay');
    const { context } = await client.context.create.mutate({ title: 'Replay me' });
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'hello /long 80' });
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'what time is it?' });
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'this fails /fail' });
    await waitIdle(client, context.id);
    const note = await client.chat.sendMessage.mutate({ contextId: context.id, content: '/tool save_note {"title":"t","body":"b"}' });
    await waitFor(async () => (await client.context.state.query({ contextId: context.id })).state.type === 'AwaitingToolApproval');
    const pending = (await client.context.state.query({ contextId: context.id })).pendingToolCalls;
    await client.chat.approveTools.mutate({ contextId: context.id, runId: note.run.id, decisions: pending.map((p) => ({ toolCallId: p.id, approve: true })) });
    await waitIdle(client, context.id);
    const long = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'cancel me /long 2000' });
    await waitFor(async () => (await client.context.state.query({ contextId: context.id })).activeRun?.status === 'processing');
    await client.chat.cancel.mutate({ contextId: context.id, runId: long.run.id });
    await waitIdle(client, context.id);
    const { messages } = await client.context.get.query({ contextId: context.id });
    const firstReply = messages.find((m) => m.role === 'assistant' && m.status === 'complete')!;
    await client.chat.regenerate.mutate({ contextId: context.id, messageId: firstReply.id });
    await waitIdle(client, context.id);
    const firstUser = messages.find((m) => m.role === 'user')!;
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'edited', editOfMessageId: firstUser.id });
    await waitIdle(client, context.id);
    await client.context.update.mutate({ contextId: context.id, title: 'Renamed' });
    const other = await client.context.create.mutate({});
    await client.context.delete.mutate({ contextId: other.context.id });

    const ok = await verifyReplay(databaseUrl);
    expect(ok.output).toMatch(/verify-replay: 2 contexts checked, 0 differ/);
    expect(ok.code).toBe(0);

    await sql(databaseUrl, `UPDATE "Message" SET parts = '[{"type":"text","text":"tampered"}]' WHERE id = $1`, [firstReply.id]);
    const bad = await verifyReplay(databaseUrl);
    expect(bad.code).toBe(1);
    expect(bad.output).toContain(`context ${context.id}: rebuild differs`);
    expect(bad.output).toContain('tampered');
  });
});
