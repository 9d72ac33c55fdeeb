import { createChatClient } from '@chat/client';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventSource } from 'eventsource';
import { namedToken } from './identity.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface TestServer {
  url: string;
  process: ChildProcess;
  output: () => string;
  /** A client authenticated as the test user `name` (an API token, the same user on every server of the database). */
  client(name?: string, opts?: { batch?: boolean; retry?: false }): ReturnType<typeof createChatClient>;
  /** The API token of the test user `name` (see `client`). */
  token(name?: string): Promise<string>;
  /** Sends a signal and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  stop(): Promise<void>;
}

/**
 * Starts the real API server (packages/api/src/serve.ts) as a child process on
 * a free port: real HTTP, real SSE, its own run worker and LISTEN connection.
 */
export async function startServer(opts: {
  databaseUrl: string;
  env?: Record<string, string>;
  script?: string;
  args?: string[];
  timeoutMs?: number;
}): Promise<TestServer> {
  const script = opts.script ?? 'packages/api/src/serve.ts';
  // `node --import tsx`, not the tsx binary: tsx runs the script in a second process that a SIGKILL would miss.
  // SERVER_CPU_PROF=DIR: each server writes a CPU profile there when it exits (node --cpu-prof; not allowed in NODE_OPTIONS).
  const profile = process.env.SERVER_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.SERVER_CPU_PROF] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', script, ...(opts.args ?? [])], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: opts.databaseUrl,
      PORT: '0',
      LOG_LEVEL: 'warn',
      LOCAL_MODEL_TOKEN_DELAY_MS: '0',
      NODE_ENV: 'production',
      // Tests create many users and send fast; the tests of these limits set them lower.
      GUESTS_PER_IP_PER_HOUR: '1000000',
      AUTH_ATTEMPTS_PER_IP_PER_MIN: '1000000',
      RATE_LIMIT_ACTIONS_PER_MIN: '1000000',
      MAX_RUNS_PER_USER: '1000',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), opts.timeoutMs ?? 90_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(/READY (http:\/\/\S+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it was ready:\n${output}`));
    });
  });
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return {
    url,
    process: child,
    output: () => output,
    token: (name = 'test-owner') => namedToken(opts.databaseUrl, url, name),
    client: (name = 'test-owner', clientOpts = {}) =>
      createChatClient({
        url,
        headers: async () => ({ authorization: `Bearer ${await namedToken(opts.databaseUrl, url, name)}` }),
        EventSource: EventSource as never,
        ...clientOpts,
      }),
    kill,
    stop: async () => {
      await kill('SIGTERM');
    },
  };
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false>,
  { timeoutMs = 30_000, intervalMs = 50, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export type Client = ReturnType<TestServer['client']>;

/** Waits until the context is Idle with no queued runs. */
export function waitIdle(client: Client, contextId: string, timeoutMs = 30_000) {
  return waitFor(
    async () => {
      const s = await client.context.state.query({ contextId });
      return s.state.type === 'Idle' && s.queue.length === 0 ? s : null;
    },
    { timeoutMs, what: `context ${contextId} to be Idle` },
  );
}

/** The TRPC error code and appCode of a failed call. */
export async function errorOf(promise: Promise<unknown>): Promise<{ code: string; appCode: string; message: string; retryAfterMs?: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { data?: { code?: string; appCode?: string; details?: { retryAfterMs?: number } }; message: string };
    return {
      code: e.data?.code ?? 'UNKNOWN',
      appCode: e.data?.appCode ?? 'UNKNOWN',
      message: e.message,
      ...(e.data?.details?.retryAfterMs !== undefined ? { retryAfterMs: e.data.details.retryAfterMs } : {}),
    };
  }
  throw new Error('expected the call to fail');
}
