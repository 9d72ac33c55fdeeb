/**
 * An in-process FIFO lock per key. Writers to one context inside this process
 * queue here before they take a pooled connection, so a burst on one chat
 * holds one connection (not the whole pool) while the database row lock
 * serialises it against other processes.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Writers waiting or running, over all keys (for tests and metrics). */
  get size(): number {
    return this.tails.size;
  }
}
