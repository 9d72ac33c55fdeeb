import { serviceBusy } from './errors.ts';

/**
 * Bounded admission (backpressure): at most `limit` holders at once; the rest
 * wait in FIFO order for at most `waitMs`, then get SERVICE_BUSY (retriable,
 * nothing written) instead of piling up until the pool or the process gives
 * out. One instance per kind of work (actions, subscription joins).
 */
export class Admission {
  private active = 0;
  private readonly waiting: { grant: () => void; timer: ReturnType<typeof setTimeout> }[] = [];

  constructor(
    private readonly limit: number,
    private readonly waitMs: number,
    private readonly what: string,
  ) {}

  get inUse() {
    return this.active;
  }
  get queued() {
    return this.waiting.length;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => {
          clearTimeout(entry.timer);
          resolve();
        },
        timer: setTimeout(() => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(serviceBusy(1000, `too many ${this.what} at once`));
        }, this.waitMs),
      };
      this.waiting.push(entry);
    });
  }

  release() {
    const next = this.waiting.shift();
    if (next) next.grant(); // the slot passes on: `active` stays
    else this.active--;
  }
}
