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

/** A running postmaster as the supervisor sees it. */
export interface Postmaster {
  readonly pid: number;
  /** Resolves, with how it ended, when it is gone. */
  readonly gone: Promise<string>;
  /** Stops it if this process owns it (a no-op for another process's), and stops watching it. */
  stop(): Promise<void>;
}

/** The postmaster this process spawned: its `exit` event says when it is gone. */
export function ownPostmaster(child: ChildProcess): Postmaster {
  const gone = new Promise<string>((resolve) => {
    const describe = (code: number | null, signal: NodeJS.Signals | null) =>
      signal ? `was killed by ${signal}` : `exited with code ${code}`;
    if (exited(child)) resolve(describe(child.exitCode, child.signalCode));
    else child.once('exit', (code, signal) => resolve(describe(code, signal)));
  });
  return { pid: child.pid!, gone, stop: () => stopChild(child) };
}

/** A postmaster another process of ours started and owns: its pid is polled (every `pollMs`). */
export function foreignPostmaster(pid: number, isAlive: () => boolean, pollMs = 500): Postmaster {
  let timer: NodeJS.Timeout | undefined;
  const gone = new Promise<string>((resolve) => {
    timer = setInterval(() => {
      if (isAlive()) return;
      clearInterval(timer);
      resolve('is gone');
    }, pollMs);
    timer.unref();
  });
  return {
    pid,
    gone,
    stop: async () => clearInterval(timer),
  };
}

/**
 * Watches the postmaster (the one this process started, or one started by
 * another process on the same data dir, which it then shares). When it dies
 * unexpectedly (SIGKILL, crash, someone stopped it) the state turns unhealthy
 * once, and `restart` is called with backoff (`minBackoffMs` doubling up to
 * `maxBackoffMs`) for as long as it fails: it starts the postmaster again on
 * the same data dir and port, or adopts one another process started
 * meanwhile. `stop()` ends supervision first, then postgres.
 */
export class PostgresSupervisor {
  private postmaster: Postmaster;
  private state: DatabaseState = { healthy: true };
  private readonly listeners = new Set<(state: DatabaseState) => void>();
  private stopping = false;
  private restarting: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private stopped: Promise<void> | null = null;

  constructor(
    postmaster: Postmaster,
    private readonly opts: {
      restart: () => Promise<Postmaster>;
      /** Restart attempts that fail (their reason), for the log. */
      onRestartFailed?: (error: unknown, attempt: number) => void;
      minBackoffMs?: number;
      maxBackoffMs?: number;
    },
  ) {
    this.postmaster = postmaster;
    this.watch(postmaster);
  }

  get healthy(): boolean {
    return this.state.healthy;
  }

  get current(): DatabaseState {
    return this.state;
  }

  get pid(): number {
    return this.postmaster.pid;
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

  private watch(postmaster: Postmaster) {
    void postmaster.gone.then((how) => {
      if (this.stopping || postmaster !== this.postmaster) return;
      this.setState({ healthy: false, reason: `postgres (pid ${postmaster.pid}) ${how}` });
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
        const postmaster = await this.opts.restart();
        if (this.stopping) {
          await postmaster.stop();
          return;
        }
        this.postmaster = postmaster;
        this.watch(postmaster);
        this.setState({ healthy: true });
        return;
      } catch (error) {
        this.opts.onRestartFailed?.(error, attempt);
        delay = Math.min(delay * 2, max);
      }
    }
  }

  /** Ends supervision (no restart after this), then stops postgres if it is ours; idempotent. */
  stop(): Promise<void> {
    return (this.stopped ??= (async () => {
      this.stopping = true;
      this.wake?.();
      await this.restarting?.catch(() => {});
      await this.postmaster.stop();
      this.listeners.clear();
    })());
  }
}
