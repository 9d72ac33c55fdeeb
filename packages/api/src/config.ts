import { z } from 'zod';

/**
 * Configuration from the environment (DESIGN §12), validated once at start.
 * An invalid value stops the process with one message naming the variable.
 */
const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

const schema = z
  .object({
    PORT: int(3000, 0),
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL').optional(),
    DATA_DIR: z.string().min(1).default('.data'),
    LLM_PROVIDER: z.enum(['local', 'openai-compatible', 'openai', 'anthropic']).default('local'),
    LLM_BASE_URL: z.url().optional(),
    LLM_API_KEY: z.string().optional(),
    LLM_MODEL: z.string().min(1).optional(),
    LOCAL_MODEL_TOKEN_DELAY_MS: int(15),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    CHECKPOINT_INTERVAL_MS: int(1000, 10),
    LEASE_MS: int(15000, 100),
    SWEEP_INTERVAL_MS: int(2000, 50),
    POLL_INTERVAL_MS: int(1000, 50),
    MAX_RUN_ATTEMPTS: int(3, 1),
    MAX_CONCURRENT_RUNS: int(32, 1),
    APPROVAL_TIMEOUT_MS: int(24 * 60 * 60 * 1000, 1),
    IDEMPOTENCY_TTL_MS: int(24 * 60 * 60 * 1000, 1),
    IDEMPOTENCY_PURGE_INTERVAL_MS: int(60_000, 50),
    HISTORY_BUDGET_CHARS: int(48000, 100),
    /** Deltas of a streaming reply are coalesced for this long (the first goes at once). */
    DELTA_FLUSH_MS: int(50, 0),
    /** Database connections per process, and how long a request waits for one before SERVICE_BUSY. */
    DB_POOL_MAX: int(20, 2),
    DB_POOL_WAIT_MS: int(5000, 10),
    /** Actions (mutations) handled at once per process, and how long one waits for a slot before SERVICE_BUSY. */
    MAX_INFLIGHT_ACTIONS: int(256, 1),
    ACTION_QUEUE_WAIT_MS: int(3000, 0),
    /** Subscriptions joining (reading their backlog) at once per process; the rest wait their turn. */
    MAX_CONCURRENT_JOINS: int(16, 1),
    JOIN_QUEUE_WAIT_MS: int(15000, 0),
    SHUTDOWN_GRACE_MS: int(5000, 0),
    /** Artificial latency before each tool runs, for demos and failure drills. */
    TOOL_DELAY_MS: int(0),
    INSTANCE_ID: z.string().min(1).optional(),
    // Identity (DESIGN §13): sessions and guests by better-auth, API tokens.
    AUTH_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /** The public URL of the app (sets the cookies' Secure flag and better-auth's base URL); else the request's host. */
    AUTH_URL: z.url().optional(),
    /** Extra origins allowed to send cookie-authenticated mutations (comma-separated), beyond the app's own. */
    AUTH_TRUSTED_ORIGINS: z.string().default(''),
    AUTH_GUESTS: z.enum(['on', 'off']).default('on'),
    /** on: behind a reverse proxy, the client's address is the first of X-Forwarded-For (for the per-address guest limit). */
    TRUST_PROXY: z.enum(['on', 'off']).default('off'),
    GUESTS_PER_IP_PER_HOUR: int(30, 1),
    /** Password sign-ins and sign-ups per client address per minute (against guessing), shared by instances. */
    AUTH_ATTEMPTS_PER_IP_PER_MIN: int(30, 1),
    // Limits (DESIGN §13): each holds across instances and answers with a typed error.
    MAX_MESSAGE_CHARS: int(100_000, 1),
    MAX_BODY_BYTES: int(1_000_000, 1024),
    MAX_BATCH_CALLS: int(20, 1),
    RATE_LIMIT_ACTIONS_PER_MIN: int(120, 1),
    MAX_RUNS_PER_USER: int(4, 1),
    MAX_OUTPUT_TOKENS: int(8192, 1),
    MAX_TOOL_ROUNDS: int(8, 1),
    TOOL_TIMEOUT_MS: int(30_000, 1),
    LOCAL_MODEL: z.enum(['on', 'off']).default('on'),
    LOCAL_MODEL_MAX_WORDS: int(5000, 1),
  })
  .superRefine((env, ctx) => {
    if (env.LLM_PROVIDER === 'openai-compatible' && !env.LLM_BASE_URL) {
      ctx.addIssue({ code: 'custom', path: ['LLM_BASE_URL'], message: 'is required when LLM_PROVIDER=openai-compatible' });
    }
    if ((env.LLM_PROVIDER === 'openai' || env.LLM_PROVIDER === 'anthropic') && !env.LLM_API_KEY) {
      ctx.addIssue({ code: 'custom', path: ['LLM_API_KEY'], message: `is required when LLM_PROVIDER=${env.LLM_PROVIDER}` });
    }
    if (env.LOCAL_MODEL === 'off' && env.LLM_PROVIDER === 'local') {
      ctx.addIssue({
        code: 'custom',
        path: ['LOCAL_MODEL'],
        message: 'is off, but LLM_PROVIDER is local (the default): set LLM_PROVIDER to a remote provider, or LOCAL_MODEL=on',
      });
    }
    if (env.LLM_PROVIDER !== 'local' && !env.LLM_MODEL) {
      ctx.addIssue({ code: 'custom', path: ['LLM_MODEL'], message: `is required when LLM_PROVIDER=${env.LLM_PROVIDER}` });
    }
  });

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`Invalid configuration: ${String(issue.path[0] ?? '')} ${issue.message}`);
  }
  return parsed.data;
}

/** The model a new context gets when it does not name one, e.g. `local:scripted`. */
export function defaultModel(config: Config): string {
  return config.LLM_PROVIDER === 'local' ? 'local:scripted' : `${config.LLM_PROVIDER}:${config.LLM_MODEL}`;
}
