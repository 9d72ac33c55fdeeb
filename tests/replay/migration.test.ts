import { createChatClient } from '@chat/client';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { withDatabase } from '../support/global-database.ts';
import { ROOT, startServer, waitFor, waitIdle, type TestServer } from '../support/server.ts';
import { sql } from '../support/sql.ts';
import { verifyReplay } from '../support/verify-replay.ts';

/**
 * Existing chats survive the transcript migration (issue 10). The fixture holds
 * every row the app stored before it (commit e1c5e2f; written by
 * tests/fixtures/make-pre-transcript-chats.ts): plain turns, questions queued
 * behind a running reply (in the old shape), a tool call awaiting approval,
 * an edited question and a cancelled reply. The database is migrated to that
 * app's migrations by the Prisma CLI, the rows loaded, and then the current
 * server starts on it as `npm start` would: it applies the rest and serves them.
 */
interface Fixture {
  migrations: string[];
  token: string;
  chats: Record<'plain' | 'queued' | 'approval' | 'edited' | 'cancelled', string>;
  rows: Record<string, Record<string, unknown>[]>;
}
const fixture = JSON.parse(readFileSync(path.join(ROOT, 'tests/fixtures/pre-transcript-chats.json'), 'utf8')) as Fixture;
const oldMessages = (contextId: string) =>
  fixture.rows.Message!.filter((m) => m.contextId === contextId).sort((a, b) => Number(a.seq) - Number(b.seq));
const textOf = (parts: unknown) => (parts as { type: string; text?: string }[]).map((p) => (p.type === 'text' ? p.text : '')).join('');

function run(cmd: string, args: string[], cwd: string, env: Record<string, string>) {
  return new Promise<string>((resolve, reject) =>
    execFile(cmd, args, { cwd, env: { ...process.env, ...env }, timeout: 120_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${cmd} ${args.join(' ')}: ${stdout}${stderr}`)) : resolve(stdout + stderr),
    ),
  );
}

/** `prisma migrate deploy` of only the old app's migrations: a copy of the repository's with the later ones left out. */
async function migrateToOldApp(databaseUrl: string) {
  const dir = path.join(ROOT, 'test-results', `old-migrations-${randomUUID().slice(0, 8)}`);
  try {
    mkdirSync(path.join(dir, 'prisma/migrations'), { recursive: true });
    cpSync(path.join(ROOT, 'prisma.config.ts'), path.join(dir, 'prisma.config.ts'));
    cpSync(path.join(ROOT, 'prisma/schema.prisma'), path.join(dir, 'prisma/schema.prisma'));
    cpSync(path.join(ROOT, 'prisma/migrations/migration_lock.toml'), path.join(dir, 'prisma/migrations/migration_lock.toml'));
    for (const name of fixture.migrations) cpSync(path.join(ROOT, 'prisma/migrations', name), path.join(dir, 'prisma/migrations', name), { recursive: true });
    await run(path.join(ROOT, 'node_modules/.bin/prisma'), ['migrate', 'deploy'], dir, { DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: '1' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function loadRows(databaseUrl: string) {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query('BEGIN');
    // The rows reference each other; load them as a restore does, without firing the foreign-key triggers.
    await db.query(`SET LOCAL session_replication_role = replica`);
    for (const [table, rows] of Object.entries(fixture.rows)) {
      if (rows.length) await db.query(`INSERT INTO "${table}" SELECT * FROM json_populate_recordset(null::"${table}", $1)`, [JSON.stringify(rows)]);
    }
    await db.query('COMMIT');
  } finally {
    await db.end();
  }
}

let databaseUrl: string;
let server: TestServer;
let client: ReturnType<typeof createChatClient>;
const migrationsAfter = () => sql<{ migration_name: string }>(databaseUrl, `SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name`);

beforeAll(async () => {
  const admin = inject('adminDatabaseUrl');
  const name = `chat_migration_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  await sql(admin, `CREATE DATABASE ${name}`);
  databaseUrl = withDatabase(admin, name);
  await migrateToOldApp(databaseUrl);
  await loadRows(databaseUrl);
  // The fixture's rows keep the dates they were written with: its pending approval would have expired
  // (APPROVAL_TIMEOUT_MS, a day) by the time this runs; expiry is not what this test is about.
  server = await startServer({ databaseUrl, env: { APPROVAL_TIMEOUT_MS: String(100 * 365 * 24 * 60 * 60 * 1000) } });
  client = createChatClient({ url: server.url, token: fixture.token, batch: false, retry: false });
}, 240_000);
afterAll(async () => {
  await server?.stop();
});

describe('chats stored before the transcript migration', () => {
  it('the server applied the missing migrations and lists every old chat of its owner, by the old token', async () => {
    const applied = (await migrationsAfter()).map((r) => r.migration_name);
    expect(applied).toEqual(expect.arrayContaining([...fixture.migrations, '20261202103000_transcript_turns']));
    const { items } = await client.context.list.query({ limit: 100 });
    expect(items.map((c) => c.id).sort()).toEqual(Object.values(fixture.chats).sort());
    // The old rows got the new columns' defaults.
    expect(await sql(databaseUrl, `SELECT count(*)::int AS n FROM "Message" WHERE attempts <> '[]'::jsonb`)).toEqual([{ n: 0 }]);
  });

  it('shows every stored message once, with its text and status, in the order it was stored', async () => {
    for (const [name, contextId] of Object.entries(fixture.chats)) {
      const { messages, branches, context } = await client.context.get.query({ contextId });
      const mainBranch = context.activeBranchId;
      const stored = oldMessages(contextId).filter((m) => m.branchId === mainBranch);
      expect(
        messages.map((m) => [m.id, m.role, textOf(m.parts), m.status]),
        name,
      ).toEqual(stored.map((m) => [m.id, m.role, textOf(m.parts), m.status]));
      expect(branches.length, name).toBe(fixture.rows.Branch!.filter((b) => b.contextId === contextId).length);
    }
    // The queued chat's questions and replies, each once (the old shape chained B and C before their replies).
    const queued = await client.context.get.query({ contextId: fixture.chats.queued });
    expect(queued.messages.map((m) => textOf(m.parts)).sort()).toEqual(
      ['question A', 'question B', 'question C', 'You said: "question A"', 'You said: "question B"', 'You said: "question C"'].sort(),
    );
    // The cancelled reply kept its partial text.
    const cancelled = await client.context.get.query({ contextId: fixture.chats.cancelled });
    const reply = cancelled.messages.find((m) => m.role === 'assistant')!;
    expect(reply.status).toBe('cancelled');
    expect(textOf(reply.parts).length).toBeGreaterThan(0);
  });

  it('the old chats go on: a new turn, the pending approval, the other branch of the edited chat', async () => {
    const plain = fixture.chats.plain;
    await client.chat.sendMessage.mutate({ contextId: plain, content: 'third question, after the migration' });
    await waitIdle(client, plain);
    const after = await client.context.get.query({ contextId: plain });
    expect(after.messages.map((m) => textOf(m.parts)).slice(-2)).toEqual(['third question, after the migration', 'You said: "third question, after the migration"']);
    expect(after.messages).toHaveLength(oldMessages(plain).length + 2);

    const queued = fixture.chats.queued;
    await client.chat.sendMessage.mutate({ contextId: queued, content: 'question D' });
    await waitIdle(client, queued);
    expect((await client.context.get.query({ contextId: queued })).messages.map((m) => textOf(m.parts)).slice(-2)).toEqual(['question D', 'You said: "question D"']);

    const approval = fixture.chats.approval;
    const state = await client.context.state.query({ contextId: approval });
    expect(state.state.type).toBe('AwaitingToolApproval');
    const runId = (state.state as { runId: string }).runId;
    await client.chat.approveTools.mutate({ contextId: approval, runId, decisions: state.pendingToolCalls.map((p) => ({ toolCallId: p.id, approve: true })) });
    await waitIdle(client, approval);
    expect(await sql(databaseUrl, `SELECT title, body, "contextId" FROM "Note"`)).toEqual([{ title: 'kept', body: 'across the migration', contextId: approval }]);
    expect((await client.run.latest.query({ contextId: approval })).run?.status).toBe('completed');

    const edited = fixture.chats.edited;
    const { branches, context } = await client.context.get.query({ contextId: edited });
    const other = branches.find((b) => b.id !== context.activeBranchId)!;
    await client.context.switchBranch.mutate({ contextId: edited, branchId: other.id });
    const switched = await client.context.get.query({ contextId: edited });
    expect(switched.messages.map((m) => textOf(m.parts))).toEqual(['original question', 'You said: "original question"']);
  });

  it('the event log of every old chat, with the turns added after the migration, rebuilds to the stored rows', async () => {
    await waitFor(async () => (await sql(databaseUrl, `SELECT count(*)::int AS n FROM "Run" WHERE status IN ('queued', 'processing', 'executing_tools')`))[0]!.n === 0);
    const result = await verifyReplay(databaseUrl);
    expect(result.output).toContain(`${Object.keys(fixture.chats).length} contexts checked, 0 differ`);
    expect(result.code).toBe(0);
  });
});
