/** Rate limit per actor+action: at most `maxPerWindow` events per `windowMs`, per key. */
export interface SampleOptions {
  /** Events written per key per window; the rest are dropped and counted. Default 1000. */
  maxPerWindow?: number;
  /** Window length in milliseconds. Default 1000. */
  windowMs?: number;
  /** Keys remembered at once, at most (least recently used forgotten first). Default 1000. */
  maxKeys?: number;
}

interface KeyWindow {
  windowStart: number;
  admitted: number;
  dropped: number;
}

/** What the limiter decided for one event that is written. */
export interface Admission {
  /** Drops of this key since its last written event (0 when none). */
  readonly dropped: number;
  /** Drops of keys forgotten before they could report (0 when none). */
  readonly droppedOther: number;
}

const NO_DROPS: Admission = Object.freeze({ dropped: 0, droppedOther: 0 });

/**
 * Fixed-window counter per key (a window starts when a key is first seen, and again on the
 * first event after it expired), remembered in a two-generation LRU: keys live in `recent`; when
 * it holds maxKeys/2 keys it becomes `older` and a fresh `recent` starts; a key found in `older`
 * moves back to `recent`; whatever is still in `older` at the next turn is forgotten. So memory
 * stays under maxKeys whatever the number of distinct actor+action pairs, every step is O(1)
 * amortised, and a hit costs one Map lookup (no delete and re-insert per event).
 * Drops are never forgotten silently: they ride on the next event written for the same key, or,
 * if the key is forgotten first, on the next event written for any key.
 */
export class RateLimiter {
  readonly #maxPerWindow: number;
  readonly #windowMs: number;
  readonly #generationSize: number;
  // actor -> action -> window: two lookups of strings the narrator already holds (their hashes
  // are cached by V8) instead of building and hashing an "actor+action" key per event.
  #recent = new Map<string, Map<string, KeyWindow>>();
  #older = new Map<string, Map<string, KeyWindow>>();
  #recentCount = 0;
  #olderCount = 0;
  #droppedForgotten = 0;

  constructor(options: Required<SampleOptions>) {
    this.#maxPerWindow = options.maxPerWindow;
    this.#windowMs = options.windowMs;
    this.#generationSize = Math.max(1, Math.floor(options.maxKeys / 2));
  }

  /**
   * Returns undefined to drop the event, or the drop counts to report with it. The clock is
   * read only when a key is new or its window is full: a window is checked for expiry when it
   * matters, so the common case costs no clock call and still admits at most `maxPerWindow`
   * events between two window starts at least `windowMs` apart.
   */
  admit(actor: string, action: string, clock: () => number): Admission | undefined {
    const window = this.#windowFor(actor, action, clock);
    if (window.admitted >= this.#maxPerWindow) {
      const now = clock();
      if (now - window.windowStart < this.#windowMs) {
        window.dropped++;
        return undefined;
      }
      window.windowStart = now;
      window.admitted = 0;
    }
    window.admitted++;
    if (window.dropped === 0 && this.#droppedForgotten === 0) return NO_DROPS;
    const admission = { dropped: window.dropped, droppedOther: this.#droppedForgotten };
    window.dropped = 0;
    this.#droppedForgotten = 0;
    return admission;
  }

  /** Number of keys currently remembered (for tests and metrics). */
  get size(): number {
    return this.#recentCount + this.#olderCount;
  }

  #windowFor(actor: string, action: string, clock: () => number): KeyWindow {
    const recent = this.#recent.get(actor)?.get(action);
    if (recent !== undefined) return recent;
    const older = this.#older.get(actor);
    let window = older?.get(action);
    if (window !== undefined) {
      older?.delete(action);
      this.#olderCount--;
    } else {
      window = { windowStart: clock(), admitted: 0, dropped: 0 };
    }
    if (this.#recentCount >= this.#generationSize) this.#turnGeneration();
    let actions = this.#recent.get(actor);
    if (actions === undefined) {
      actions = new Map();
      this.#recent.set(actor, actions);
    }
    actions.set(action, window);
    this.#recentCount++;
    return window;
  }

  /** The older generation is forgotten (its drops kept as a count); the recent one ages. */
  #turnGeneration(): void {
    for (const actions of this.#older.values()) {
      for (const window of actions.values()) this.#droppedForgotten += window.dropped;
    }
    this.#older = this.#recent;
    this.#olderCount = this.#recentCount;
    this.#recent = new Map();
    this.#recentCount = 0;
  }
}
