import { LeaseLostError, ShutdownSignal } from '../domain/errors.ts';
import { RunExecutor, type Claim, type ExecutorConfig } from './executor.ts';
import { ContextSession, mutate } from './mutate.ts';
import type { CorePorts } from './ports.ts';

export interface WorkerConfig extends ExecutorConfig {
  pollMs: number;
  sweepMs: number;
  maxConcurrentRuns: number;
  /** Runs of one owner processing at once, across every instance (a user's extra runs wait; others' start). */
  maxRunsPerOwner?: number;
  maxAttempts: number;
  approvalTimeoutMs: number;
  /** How long a graceful stop waits for running runs before it hands them back. */
  shutdownGraceMs: number;
}

interface ActiveRun {
  contextId: string;
  abort: AbortController;
  done: Promise<void>;
}

/**
 * The server's long-lived work (DESIGN §2, §7): claims runs that need a worker,
 * executes them with a renewed lease, recovers runs whose owner died, expires
 * approvals. Wakes on bus notifications and polls as a fallback.
 */
export class RunWorker {
  private readonly active = new Map<string, ActiveRun>();
  private readonly executor: RunExecutor;
  private timers: ReturnType<typeof setInterval>[] = [];
  private unsubscribe: (() => void) | null = null;
  private polling: Promise<void> | null = null;
  private pollAgain = false;
  private stopped = false;

  constructor(
    private readonly ports: CorePorts,
    private readonly config: WorkerConfig,
    private readonly log: (msg: string, data?: Record<string, unknown>) => void = () => {},
  ) {
    this.executor = new RunExecutor(ports, config);
  }

  get runningRunIds(): string[] {
    return [...this.active.keys()];
  }

  async start() {
    await this.sweep();
    // The notification names the context: claim it at once (no query hop); without one, poll.
    this.unsubscribe = this.ports.bus.onWorkAvailable((contextId) => void (contextId ? this.claimContext(contextId) : this.poll()));
    this.timers.push(setInterval(() => void this.poll(), this.config.pollMs));
    this.timers.push(setInterval(() => void this.sweep(), this.config.sweepMs));
    for (const t of this.timers) t.unref?.();
    await this.poll();
  }

  /** Claims what it can; concurrent calls coalesce into one more pass. */
  poll(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.polling) {
      this.pollAgain = true;
      return this.polling;
    }
    this.polling = (async () => {
      do {
        this.pollAgain = false;
        await this.claimAvailable().catch((error) => this.log('poll failed', { error: String(error) }));
      } while (this.pollAgain && !this.stopped);
    })().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  private async claimAvailable() {
    const free = this.config.maxConcurrentRuns - this.active.size;
    if (free <= 0) return;
    const candidates = await this.ports.queue.findClaimable(free * 2, this.ports.model.providers(), this.config.maxRunsPerOwner);
    for (const { contextId, runId, model } of candidates) {
      if (this.stopped || this.active.size >= this.config.maxConcurrentRuns) return;
      // Left for an instance that can run this model.
      if (this.active.has(runId) || !this.ports.model.supports(model)) continue;
      const until = new Date(this.ports.clock().getTime() + this.config.leaseMs);
      await this.tryClaim(new ContextSession(this.ports.repo, contextId), runId, until);
    }
  }

  /** A notification said the context may have a run to start. */
  private async claimContext(contextId: string) {
    if (this.stopped || this.active.size >= this.config.maxConcurrentRuns) return this.poll();
    // One run per context at a time: if this process runs the context's run, there is nothing to claim.
    for (const run of this.active.values()) if (run.contextId === contextId) return;
    const until = new Date(this.ports.clock().getTime() + this.config.leaseMs);
    // Skipped when another writer holds the context: its commit notifies again, and the poll is the fallback.
    await this.tryClaim(new ContextSession(this.ports.repo, contextId), null, until);
  }

  /** Claims `runId` (or the context's active run when null) and launches it. */
  private async tryClaim(session: ContextSession, runId: string | null, until: Date) {
    let claimedId: string | null = null;
    const claimed = await session
      .tryApply((a) => {
        const id = runId ?? a.activeRun?.id ?? null;
        if (!id || this.active.has(id) || !this.ports.model.supports(a.context.model)) return null;
        claimedId = id;
        return this.executor.claim(id, until)(a);
      }, this.config.maxRunsPerOwner ? { maxRunningPerOwner: this.config.maxRunsPerOwner } : {})
      .catch((error) => {
        this.log('claim failed', { runId, error: String(error) });
        return null;
      });
    if (!claimed || !claimedId || this.stopped || this.active.has(claimedId)) return;
    this.ports.observer?.runStarted?.({ runId: claimedId, queuedMs: claimed.queuedMs });
    this.launch(session.contextId, claimedId, session, claimed);
  }

  private launch(contextId: string, runId: string, session: ContextSession, claim: Claim) {
    const abort = new AbortController();
    const { owner, leaseMs } = this.config;
    const startedAt = Date.now();
    const stopWatching = this.ports.bus.subscribe(contextId, (event) => {
      if ((event.type === 'run.cancelled' || event.type === 'run.interrupted' || event.type === 'run.failed') && event.payload.runId === runId) {
        abort.abort(new Error(event.type));
      }
    });
    const renew = setInterval(async () => {
      const until = new Date(this.ports.clock().getTime() + leaseMs);
      // A failed renewal (database away) is not a lost lease: the next one may succeed.
      const held = await this.ports.queue.renewLease(runId, owner, until).catch(() => true);
      if (!held) abort.abort(new LeaseLostError(runId));
    }, Math.max(50, Math.floor(leaseMs / 3)));
    renew.unref?.();

    const done = this.executor
      .execute(contextId, runId, abort.signal, session, claim)
      .catch(async (error) => {
        if (error instanceof LeaseLostError || abort.signal.aborted) return;
        // Not the model's failure (that is recorded by the executor): a write failed, e.g. the
        // database went away. Hand the run back for a retry; if even that fails, the lease expires
        // and the sweep of any instance recovers it.
        this.log('run step failed; handing the run back', { runId, error: String(error) });
        await mutate(this.ports.repo, contextId, (a) => {
          const r = a.rows.runs.get(runId);
          if (r?.leaseOwner === owner && r.status === 'processing') a.recover(runId, this.config.maxAttempts);
        }).catch((e) => this.log('could not hand back run; its lease will expire', { runId, error: String(e) }));
      })
      .finally(() => {
        clearInterval(renew);
        stopWatching();
        this.active.delete(runId);
        const status = session.peek()?.rows.runs.get(runId)?.status ?? 'unknown';
        this.ports.observer?.runFinished?.({ runId, status, ms: Date.now() - startedAt });
        void this.poll();
      });
    this.active.set(runId, { contextId, abort, done });
  }

  /** Recovers runs whose owner's lease expired, and expires stale approvals. */
  async sweep() {
    if (this.stopped) return;
    const { queue, repo, clock } = this.ports;
    try {
      const expired = await queue.findExpiredLeases(50);
      for (const { contextId, runId } of expired.runs) {
        if (this.active.has(runId)) continue;
        await mutate(repo, contextId, (a) => {
          const run = a.run(runId);
          // Checked again under the lock, by the database's clock (a renewal may have come in between).
          if (run.leaseExpiresAt && run.leaseExpiresAt <= expired.now) a.recover(runId, this.config.maxAttempts);
        }).then(
          () => this.log('recovered run', { runId }),
          (error) => this.log('recovery failed', { runId, error: String(error) }),
        );
      }
      const cutoff = new Date(clock().getTime() - this.config.approvalTimeoutMs);
      for (const contextId of await queue.findExpiredApprovals(cutoff, 50)) {
        await mutate(repo, contextId, (a) => a.expireApprovals(this.config.approvalTimeoutMs)).catch((error) =>
          this.log('approval expiry failed', { contextId, error: String(error) }),
        );
      }
    } catch (error) {
      this.log('sweep failed', { error: String(error) });
    }
    await this.poll();
  }

  /**
   * Graceful stop: claim nothing new, let running runs finish for a grace
   * period, then abort them and hand them back (partial reply marked, run
   * re-queued) so another process continues at once instead of after a lease.
   */
  async stop() {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.unsubscribe?.();
    await this.polling;
    const runs = [...this.active.entries()];
    const grace = new Promise((r) => setTimeout(r, this.config.shutdownGraceMs).unref?.());
    await Promise.race([Promise.all(runs.map(([, r]) => r.done)), grace]);
    for (const [runId, run] of this.active) {
      run.abort.abort(new ShutdownSignal());
      await run.done;
      await mutate(this.ports.repo, run.contextId, (a) => {
        const r = a.run(runId);
        if (r.leaseOwner === this.config.owner && r.status === 'processing') a.recover(runId, this.config.maxAttempts + 1);
      }).catch((error) => this.log('could not hand back run', { runId, error: String(error) }));
    }
  }
}
