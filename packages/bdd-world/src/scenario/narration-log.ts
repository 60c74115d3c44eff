import { createNarrator, type NarrationEvent, type Narrator } from '@vramseal/narration-core';

/**
 * Everything one scenario narrates, kept in memory: the World hands `narrator` to the manager, and
 * the steps read `events`. A narrator per scenario (not a global capture) keeps scenarios apart
 * even when a hook or a timer narrates after a step returned.
 */
export class NarrationLog {
  readonly events: NarrationEvent[] = [];
  readonly narrator: Narrator;
  /** Lines that were not JSON: the narrator broke its own format. A scenario with any fails. */
  readonly unreadable: string[] = [];

  constructor(actor = 'bdd-worker') {
    this.narrator = createNarrator({
      actor,
      destination: { write: (chunk: string) => this.#take(chunk) },
      format: 'json',
      // Every level, so a scenario can assert on debug events (digest, capacity_query) too.
      level: 'trace',
      sample: false,
      // An invalid event must be a visible defect here, never silently repaired.
      onInvalid: 'throw',
    });
  }

  #take(chunk: string): void {
    for (const line of chunk.split('\n')) {
      if (line.length === 0) continue;
      try {
        this.events.push(JSON.parse(line) as NarrationEvent);
      } catch {
        this.unreadable.push(line);
      }
    }
  }
}
