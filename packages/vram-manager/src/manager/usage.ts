/**
 * The operations reading one shard's device memory right now (verifies, attestations). A
 * deallocation takes the shard off the books first, so no new operation can start on it, then
 * waits until none is left before it frees the memory: a verify in flight never reads freed
 * memory, and never passes for a shard that is already gone.
 */
export class ShardUsage {
  #count = 0;
  #waiting: (() => void)[] = [];

  /** Runs `work` as one user of the shard; the count is taken before `work` starts. */
  async during<T>(work: () => Promise<T>): Promise<T> {
    this.#count += 1;
    try {
      return await work();
    } finally {
      this.#count -= 1;
      // Waiters resume on the next turn, after the operation that let go has finished its own
      // bookkeeping (a verify audits and narrates its result before the deallocation goes on).
      if (this.#count === 0) setImmediate(() => this.#wake());
    }
  }

  #wake(): void {
    if (this.#count === 0) for (const resolve of this.#waiting.splice(0)) resolve();
  }

  /** Resolves once no operation uses the shard. */
  idle(): Promise<void> {
    return this.#count === 0
      ? Promise.resolve()
      : new Promise((resolve) => this.#waiting.push(resolve));
  }
}
