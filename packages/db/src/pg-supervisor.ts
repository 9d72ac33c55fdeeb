// The embedded PostgreSQL process: spawning the postmaster, noticing when it
// dies, and starting it again on the same data dir and port (so every URL
// handed out stays valid).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** What the app can observe of its embedded database. */
export type DatabaseState = { healthy: true } | { healthy: false; reason: string };

export interface PostmasterSpec {
  /** The `postgres` binary. */
  postgres: string;
  /** The cluster directory, as postgres sees it (no symlink the postgres user cannot traverse). */
  pgData: string;
  port: number;
  /** Run as this user (we are root; postgres refuses to run as root). */
  ids?: { uid: number; gid: number };
  log: (line: string) => void;
}

const READY = 'database system is ready to accept connections';

export class PostmasterExitedError extends Error {
  override name = 'PostmasterExitedError';
}

/**
 * Spawns the postmaster and resolves once it accepts connections (its log
 * line, or `ready` in postmaster.pid). Rejects, with its last log lines, if it
 * exits first or is not ready within `timeoutMs`.
 */
export function spawnPostmaster(spec: PostmasterSpec, timeoutMs = 60_000): Promise<ChildProcess> {
  const recent: string[] = [];
  const child = spawn(
    spec.postgres,
    ['-D', spec.pgData, '-p', String(spec.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    {
      cwd: '/',
      env: { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(spec.ids ?? {}),
    },
  );
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(child);
    };
    const onOutput = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        recent.push(line);
        if (recent.length > 20) recent.shift();
        spec.log(line);
      }
      if (text.includes(READY)) finish();
    };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    child.once('error', (error) => finish(new PostmasterExitedError(`could not run ${spec.postgres}: ${error.message}`)));
    child.once('exit', (code, signal) =>
      finish(
        new PostmasterExitedError(
          `postgres exited during start on port ${spec.port} (${signal ?? `code ${code}`}):\n${recent.join('\n')}`,
        ),
      ),
    );
    const poll = setInterval(() => {
      if (child.pid !== undefined && postmasterStatus(spec.pgData, child.pid) === 'ready') finish();
    }, 100);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new PostmasterExitedError(`postgres did not become ready within ${timeoutMs} ms:\n${recent.join('\n')}`));
    }, timeoutMs);
  });
}

/** Line 8 of postmaster.pid (`ready`, `starting`, `stopping`), when the file is that postmaster's. */
function postmasterStatus(pgData: string, pid: number): string | undefined {
  try {
    const lines = readFileSync(path.join(pgData, 'postmaster.pid'), 'utf8').split('\n');
    return Number(lines[0]) === pid ? lines[7]?.trim() : undefined;
  } catch {
    return undefined;
  }
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/** SIGINT (fast shutdown), SIGKILL after `graceMs`; resolves when the process is gone (at once if it already is). */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (exited(child)) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await gone;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Watches the postmaster this process started (its child's `exit` event).
 * When it dies unexpectedly (SIGKILL, crash, someone stopped it) the state
 * turns unhealthy once, and the postmaster is started again on the same data
 * dir and port, with backoff (`minBackoffMs` doubling up to `maxBackoffMs`)
 * for as long as that fails. `stop()` ends supervision first, then postgres.
 */
export class PostgresSupervisor {
  private child: ChildProcess;
  private state: DatabaseState = { healthy: true };
  private readonly listeners = new Set<(state: DatabaseState) => void>();
  private stopping = false;
  private restarting: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private stopped: Promise<void> | null = null;

  constructor(
    child: ChildProcess,
    private readonly spec: PostmasterSpec,
    private readonly opts: {
      /** Runs before each restart attempt (e.g. clear a stale postmaster.pid); may take a lock around `attempt`. */
      around?: <T>(attempt: () => Promise<T>) => Promise<T>;
      /** Restart attempts that fail (their reason), for the log. */
      onRestartFailed?: (error: unknown, attempt: number) => void;
      minBackoffMs?: number;
      maxBackoffMs?: number;
    } = {},
  ) {
    this.child = child;
    this.watch(child);
  }

  get healthy(): boolean {
    return this.state.healthy;
  }

  get current(): DatabaseState {
    return this.state;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  onStateChange(listener: (state: DatabaseState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private setState(state: DatabaseState) {
    if (state.healthy === this.state.healthy) return;
    this.state = state;
    for (const listener of [...this.listeners]) {
      try {
        listener(state);
      } catch {
        // a listener's problem is not the database's
      }
    }
  }

  private watch(child: ChildProcess) {
    child.once('exit', (code, signal) => {
      if (this.stopping || child !== this.child) return;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      this.setState({ healthy: false, reason: `postgres (pid ${child.pid}) ${how}` });
      this.restarting ??= this.restartLoop().finally(() => (this.restarting = null));
    });
  }

  private async restartLoop() {
    const min = this.opts.minBackoffMs ?? 200;
    const max = this.opts.maxBackoffMs ?? 5000;
    let delay = min;
    for (let attempt = 1; !this.stopping; attempt++) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
      if (this.stopping) return;
      try {
        const around = this.opts.around ?? (<T>(fn: () => Promise<T>) => fn());
        const child = await around(() => spawnPostmaster(this.spec));
        if (this.stopping) {
          await stopChild(child);
          return;
        }
        this.child = child;
        this.watch(child);
        this.setState({ healthy: true });
        return;
      } catch (error) {
        this.opts.onRestartFailed?.(error, attempt);
        delay = Math.min(delay * 2, max);
      }
    }
  }

  /** Ends supervision (no restart after this), then stops postgres; idempotent. */
  stop(): Promise<void> {
    return (this.stopped ??= (async () => {
      this.stopping = true;
      this.wake?.();
      await this.restarting?.catch(() => {});
      await stopChild(this.child);
      this.listeners.clear();
    })());
  }
}
