import { createNarrator, type NarratorOptions } from '@vramseal/narration-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { basicFields, memoryDestination } from './helpers.js';

function narratorTo(options: Partial<NarratorOptions>) {
  const out = memoryDestination();
  return { out, narrator: createNarrator({ actor: 'worker', destination: out, ...options }) };
}

describe('rate limit per actor+action', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a hot loop cannot flood the output; the drop count rides on the next written event', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const { out, narrator } = narratorTo({ sample: { maxPerWindow: 5, windowMs: 1000 } });
    for (let i = 0; i < 10_000; i++) narrator.info({ ...basicFields, target: `shard-${i}` });
    expect(out.lines).toHaveLength(5);

    vi.advanceTimersByTime(1000);
    narrator.info(basicFields);
    const events = out.events();
    expect(events).toHaveLength(6);
    expect(events.slice(0, 5).every((event) => event.dropped_count === undefined)).toBe(true);
    expect(events[5]?.dropped_count).toBe(9_995);

    narrator.info(basicFields);
    expect(out.events()[6]?.dropped_count).toBeUndefined();
  });

  it('limits each actor+action separately', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const { out, narrator } = narratorTo({ sample: { maxPerWindow: 2 } });
    for (let i = 0; i < 10; i++) {
      narrator.info({ ...basicFields, action: 'seal' });
      narrator.info({ ...basicFields, action: 'verify' });
      narrator.info({ ...basicFields, action: 'seal', actor: 'other' });
    }
    const counts = new Map<string, number>();
    for (const event of out.events()) {
      const key = `${event.actor}/${event.action}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({
      'worker/seal': 2,
      'worker/verify': 2,
      'other/seal': 2,
    });
  });

  it('memory stays bounded with endless distinct keys, and forgotten drops are still reported', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const { out, narrator } = narratorTo({ sample: { maxPerWindow: 1, maxKeys: 10 } });
    // Key "hot" drops 3 events, then 100 other keys push it out of memory.
    for (let i = 0; i < 4; i++) narrator.info({ ...basicFields, action: 'hot' });
    for (let i = 0; i < 100; i++) narrator.info({ ...basicFields, action: `key-${i}` });
    const events = out.events();
    expect(events).toHaveLength(101);
    const reported = events.reduce((sum, event) => sum + (event.dropped_other_count ?? 0), 0);
    expect(reported).toBe(3);
  });

  it('is on by default (1000 per second per key) and can be turned off', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const limited = narratorTo({});
    const unlimited = narratorTo({ sample: false });
    for (let i = 0; i < 1500; i++) {
      limited.narrator.info(basicFields);
      unlimited.narrator.info(basicFields);
    }
    expect(limited.out.lines).toHaveLength(1000);
    expect(unlimited.out.lines).toHaveLength(1500);
  });

  it('events of a disabled level are not counted against the limit', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const { out, narrator } = narratorTo({ level: 'warn', sample: { maxPerWindow: 1 } });
    for (let i = 0; i < 5; i++) narrator.debug(basicFields);
    narrator.warn(basicFields);
    expect(out.events()[0]?.dropped_count).toBeUndefined();
  });
});
