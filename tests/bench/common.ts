// What the bench's scripts (run.ts, curves.ts) share.

/** Same settings for every product server of the bench (unknown variables are ignored by the config). */
export const SERVER_ENV: Record<string, string> = {
  LOCAL_MODEL_TOKEN_DELAY_MS: '0',
  LOG_LEVEL: 'warn',
  CHECKPOINT_INTERVAL_MS: '1000',
  MAX_CONCURRENT_RUNS: '64',
  DELTA_FLUSH_MS: '50',
  DB_POOL_MAX: '20',
  // The bench's users send as fast as they can: raise the per-user limits (DESIGN §13) out of the way.
  RATE_LIMIT_ACTIONS_PER_MIN: '1000000',
  GUESTS_PER_IP_PER_HOUR: '1000000',
  AUTH_ATTEMPTS_PER_IP_PER_MIN: '1000000',
  MAX_RUNS_PER_USER: '1000',
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
