import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import { startEmbeddedPostgres } from './embedded-postgres.ts';
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
