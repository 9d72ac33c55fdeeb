import { createCallerFactory, appRouter, loadConfig, startServices, type Services } from '@chat/api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { startServer, waitIdle, type TestServer } from '../support/server.ts';
import { verifyReplay } from '../support/verify-replay.ts';
import { readTemplateTurn, seedTurns } from './seed.ts';

/**
 * The hot reads cost the same in a chat of 200 messages as in one of 20,000:
 * every statement they send is explained by PostgreSQL itself (auto_explain
 * with ANALYZE and BUFFERS, sent back to the connection as a notice), and the
 * buffers it touched are summed per read. The chats are seeded with copies of
 * a turn the app ran (tests/scale/seed.ts), then ANALYZEd, so the planner has
 * realistic statistics.
 */
const SMALL = 200;
const LARGE = 20_000;
/** A question of ~330 characters: 100 turns already fill the model's 48,000-character window. */
const QUESTION = `Please summarise the following paragraph for me. ${'The quick brown fox jumps over the lazy dog near the river bank. '.repeat(4)}`.trim();

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Shared Hit Blocks': number;
  'Shared Read Blocks': number;
  Plans?: PlanNode[];
}
interface Explained {
  query: string;
  buffers: number;
  seqScans: string[];
}

let server: TestServer;
let services: Services;
let databaseUrl: string;
const chats = { small: '', large: '' };
/** Plans that arrive while `recording` is on. */
let recording: Explained[] | null = null;

function walk(node: PlanNode, seen: string[]) {
  if (node['Node Type'] === 'Seq Scan' && node['Relation Name']) seen.push(node['Relation Name']);
  for (const child of node.Plans ?? []) walk(child, seen);
}

beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  server = await startServer({ databaseUrl, env: { LOCAL_MODEL_TOKEN_DELAY_MS: '0' } });
  const client = server.client('long-chats');
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    // The template: one real turn of the app.
    const { context: template } = await client.context.create.mutate({ title: 'template' });
    const before = (await db.query(`SELECT version FROM "Context" WHERE id = $1`, [template.id])).rows[0].version;
    await client.send(template.id, QUESTION);
    await waitIdle(client, template.id);
    const turn = await readTemplateTurn(db, template.id, before);
    for (const [name, messages] of [['small', SMALL], ['large', LARGE]] as const) {
      const { context } = await client.context.create.mutate({ title: `${messages} messages` });
      await seedTurns(db, context.id, turn, messages / 2);
      chats[name] = context.id;
    }
    await db.query('ANALYZE');
  } finally {
    await db.end();
  }
  // The reads, in this process, on connections that explain every statement to us.
  const explaining = new URL(databaseUrl);
  explaining.searchParams.set(
    'options',
    [
      'session_preload_libraries=auto_explain',
      'auto_explain.log_min_duration=0',
      'auto_explain.log_analyze=on',
      'auto_explain.log_buffers=on',
      'auto_explain.log_timing=off',
      'auto_explain.log_format=json',
      'auto_explain.log_level=notice',
    ]
      .map((o) => `-c ${o}`)
      .join(' '),
  );
  services = await startServices(loadConfig({ ...process.env, DATABASE_URL: explaining.toString(), LOG_LEVEL: 'warn' }), {
    migrate: false,
    worker: false,
    onDatabaseConnection: (connection) =>
      connection.on('notice', (notice) => {
        const text = notice.message ?? '';
        const json = text.slice(text.indexOf('{'));
        if (!recording || !text.startsWith('duration')) return;
        const explained = JSON.parse(json) as { 'Query Text': string; Plan: PlanNode };
        const seqScans: string[] = [];
        walk(explained.Plan, seqScans);
        recording.push({
          query: explained['Query Text'],
          buffers: explained.Plan['Shared Hit Blocks'] + explained.Plan['Shared Read Blocks'],
          seqScans,
        });
      }),
  });
}, 300_000);

afterAll(async () => {
  await services?.stop();
  await server?.stop();
});

async function measure(read: () => Promise<unknown>): Promise<{ buffers: number; statements: Explained[] }> {
  await read(); // once to warm the caches: the comparison is of rows touched, not of cold reads
  recording = [];
  try {
    await read();
    const statements = recording;
    return { buffers: statements.reduce((n, s) => n + s.buffers, 0), statements };
  } finally {
    recording = null;
  }
}

describe('reads whose cost does not grow with the chat', () => {
  it('the seeded chats are what the app would have written, and still work', async () => {
    // The event log rebuilds to the stored rows, for every chat of the database.
    const replay = await verifyReplay(databaseUrl);
    expect(replay.output).toContain("verify-replay: 3 contexts checked, 0 differ");
    expect(replay.code).toBe(0);
    // A new turn at the end of the long chat answers its own question and is placed after the seeded ones.
    const client = server.client('long-chats');
    const sent = await client.send(chats.large, 'and one more question');
    await waitIdle(client, chats.large);
    const { messages } = await client.context.get.query({ contextId: chats.large });
    expect(messages.at(-2)?.id).toBe(sent.message.id);
    expect(messages.at(-1)?.parts).toEqual([{ type: 'text', text: 'You said: "and one more question"' }]);
    expect(messages.at(-1)?.seq).toBe(LARGE + 2);
  });

  const caller = () => {
    const headers = new Headers();
    return server.token('long-chats').then((token) => {
      headers.set('authorization', `Bearer ${token}`);
      return createCallerFactory(appRouter)({ services, headers, url: 'http://localhost/api/trpc' });
    });
  };

  const reads: Record<string, (contextId: string) => Promise<unknown>> = {
    'context.get': async (contextId) => (await caller()).context.get({ contextId }),
    'context.messages (latest page)': async (contextId) => (await caller()).context.messages({ contextId, limit: 50 }),
    'context.messages (a page in the middle)': async (contextId) => {
      const c = await caller();
      const { lastMessageSeq } = (await services.reads.context(contextId))!;
      return c.context.messages({ contextId, limit: 50, cursor: Math.floor(lastMessageSeq / 2) });
    },
    'run.latest': async (contextId) => (await caller()).run.latest({ contextId }),
    'repository.load': (contextId) => services.repo.load(contextId),
    "the model's history window": async (contextId) => {
      const head = (await services.reads.branches(contextId))[0]!.headMessageId;
      return services.repo.loadPath(contextId, head, { budgetChars: services.config.HISTORY_BUDGET_CHARS, include: [], skip: [] });
    },
  };

  for (const [name, read] of Object.entries(reads)) {
    it(`${name}: as many buffers at ${LARGE} messages as at ${SMALL} (within 1.5x), no sequential scan of Message, Event or Run`, async () => {
      const small = await measure(() => read(chats.small));
      const large = await measure(() => read(chats.large));
      const detail = (m: typeof small) => m.statements.map((s) => `${s.buffers}\t${s.query.replace(/\s+/g, ' ').slice(0, 140)}`).join('\n');
      expect(large.statements.length, detail(large)).toBeGreaterThan(0);
      expect(large.buffers, `${SMALL}: ${small.buffers}\n${detail(small)}\n${LARGE}: ${large.buffers}\n${detail(large)}`).toBeLessThanOrEqual(small.buffers * 1.5);
      for (const m of [small, large]) {
        const scans = m.statements.flatMap((s) => s.seqScans.filter((t) => ['Message', 'Event', 'Run'].includes(t)).map((t) => `${t}: ${s.query.slice(0, 120)}`));
        expect(scans).toEqual([]);
      }
    });
  }
});
