import type { ModelMessage } from '../domain/history.ts';
export type { ModelMessage };
import type { ContextAggregate, Clock } from '../domain/aggregate.ts';
import type { ContextEvent, EphemeralEvent } from '../domain/events.ts';
import type { FailureCode } from '../domain/failure.ts';
import type { MessageRecord } from '../domain/records.ts';

/**
 * Ports: what core needs from the outside world. packages/db and packages/api
 * implement them; tests may use in-memory versions.
 */

export interface IdempotencyWrite {
  ownerId: string;
  procedure: string;
  key: string;
  requestHash: string;
  response: unknown;
  expiresAt: Date;
}

/** Extra rows to load beside the unfinished runs (a message also brings its run). */
export interface HistoryWindow {
  budgetChars: number;
  /** Read whether or not they fall in the window (a run's trigger). */
  include: string[];
  /** On the path but not sent to the model (waiting triggers): they do not use up the budget. */
  skip: string[];
}

export interface LoadOptions {
  messageIds?: string[];
  runIds?: string[];
  /** Messages with these client ids (a resent message is answered, never stored twice). */
  clientMessageIds?: string[];
}

export interface TransactOptions<T> {
  /** The writer's aggregate as of its last save: reused (no load) when nobody wrote since. */
  current?: ContextAggregate | null;
  /** Extra rows to load (forces a fresh load). */
  load?: LoadOptions;
  /** The idempotency record to write in the same transaction (undefined: none). */
  idempotency?: (result: T) => IdempotencyWrite | undefined;
  /**
   * For claims: skip (null, nothing done) while the context's owner already has this many runs
   * processing, counted across every instance under a per-owner lock (DESIGN §13, MAX_RUNS_PER_USER).
   */
  maxRunningPerOwner?: number;
  /** A counted allowance spent by this change, in the same transaction (over it: RATE_LIMITED, nothing written). */
  budget?: Budget;
}

/** `limit` uses of `key` per `windowMs`, counted in the database so every instance shares them (DESIGN §13). */
export interface Budget {
  key: string;
  limit: number;
  windowMs: number;
  /** What is counted, for the error's sentence ("messages"). */
  what: string;
}

export interface Transacted<T> {
  /** Committed: clean, at its new version. */
  aggregate: ContextAggregate;
  result: T;
}

export interface ContextRepository {
  /** Loads the context with its branches, unfinished runs and their messages and tool calls. */
  load(contextId: string, opts?: LoadOptions): Promise<ContextAggregate>;
  /**
   * Writes everything the aggregate changed, guarded by its version, with its
   * events, in one transaction; sends no query at all when it is clean.
   */
  save(aggregate: ContextAggregate, extra?: { idempotency?: IdempotencyWrite }): Promise<void>;
  /**
   * Read-change-write with writers to the context serialised (DESIGN §5):
   * waits for the context's lock, computes `change` on the current state
   * (reusing `current` when it is still current), saves it in the same
   * transaction. A lost race is resolved here, never returned.
   */
  transact<T>(contextId: string, change: (aggregate: ContextAggregate) => T, opts?: TransactOptions<T>): Promise<Transacted<T>>;
  /** `transact`, unless another writer holds the context right now (then null, nothing done): for claims. */
  tryTransact<T>(contextId: string, change: (aggregate: ContextAggregate) => T, opts?: TransactOptions<T>): Promise<Transacted<T> | null>;
  /**
   * The branch path ending at `headMessageId`, oldest first. With a `window`, only its newest part:
   * walked back from the head until the text of the messages the model would see reaches
   * `budgetChars` (one more message is included), plus the messages named in `include`.
   */
  loadPath(contextId: string, headMessageId: string | null, window?: HistoryWindow): Promise<MessageRecord[]>;
}

/** `resync`: the bus may have missed notifications (its connection dropped); read the log to catch up. */
export type BusEvent = ContextEvent | EphemeralEvent | { type: 'resync'; contextId: string };

export interface EventBus {
  /** Persisted events (read back from the log) and ephemeral ones, in order, for one context. */
  subscribe(contextId: string, listener: (event: BusEvent) => void): () => void;
  /**
   * Fires when a context's runs may need a worker (a run was queued, handed off or recovered):
   * with that context's id, or null when any context may have work (e.g. after a reconnect).
   */
  onWorkAvailable(listener: (contextId: string | null) => void): () => void;
  publishEphemeral(event: EphemeralEvent): Promise<void>;
}

export interface RunQueue {
  /** Active runs that no live worker holds: queued, handed off after approval, or retried. */
  /** Runs a worker may claim, oldest first: only models of `providers`, and not of owners at `maxRunningPerOwner`. */
  findClaimable(limit: number, providers: string[], maxRunningPerOwner?: number): Promise<{ contextId: string; runId: string; model: string }[]>;
  /** Runs whose owner's lease expired while processing, by the database's clock (`now`: that clock). */
  findExpiredLeases(limit: number): Promise<{ now: Date; runs: { contextId: string; runId: string }[] }>;
  /** Contexts awaiting approval with a call older than the cutoff. */
  findExpiredApprovals(cutoff: Date, limit: number): Promise<string[]>;
  /** Extends the lease only while `owner` still holds it; false when it was lost. */
  renewLease(runId: string, owner: string, until: Date): Promise<boolean>;
}

export type ModelChunk =
  | { type: 'text'; text: string }
  | { type: 'tool-call'; id: string; name: string; args: unknown; invalid?: string }
  /** With a `code`, `error` is a sentence safe to show; without one it is raw text (never shown). */
  | { type: 'error'; error: string; code?: FailureCode };

export interface ModelRequest {
  model: string;
  system: string | null;
  messages: ModelMessage[];
  tools: ToolDescriptor[];
  signal: AbortSignal;
}

export interface LanguageModelPort {
  stream(request: ModelRequest): AsyncIterable<ModelChunk>;
  /** Whether this process can run the model (instances may be configured differently). */
  supports(model: string): boolean;
  /** The providers (model prefixes before ':') this process can run, for the claim query. */
  providers(): string[];
}

export interface ToolDescriptor {
  name: string;
  description: string;
  /** JSON schema of the arguments, for the model. */
  inputSchema: unknown;
  needsApproval: boolean;
}

export interface ToolRuntime {
  descriptors(): ToolDescriptor[];
  /** Validates arguments; returns the error text when they are invalid. */
  validate(name: string, args: unknown): { ok: true; args: unknown } | { ok: false; error: string };
  /** Settles within the runtime's time limit per call (a timeout is an error, never a hang). */
  execute(name: string, args: unknown, ctx: { contextId: string; toolCallId: string }): Promise<unknown>;
}

export interface Ids {
  next(kind: 'ctx' | 'br' | 'msg' | 'run' | 'tool'): string;
}

export type Hasher = (text: string) => string;

/** What the run worker reports for operators (metrics); every method is optional to implement. */
export interface RunObserver {
  /** A run was claimed: how long it waited since it was queued. */
  runStarted?(info: { runId: string; queuedMs: number }): void;
  /** The model's first text of a reply reached this process: ms since the run was claimed. */
  firstToken?(info: { runId: string; ms: number }): void;
  /** A run ended here (completed, error, cancelled, interrupted, awaiting_approval, handed back). */
  runFinished?(info: { runId: string; status: string; ms: number }): void;
}

export interface CorePorts {
  repo: ContextRepository;
  bus: EventBus;
  queue: RunQueue;
  model: LanguageModelPort;
  tools: ToolRuntime;
  clock: Clock;
  ids: Ids;
  hash: Hasher;
  observer?: RunObserver;
}
