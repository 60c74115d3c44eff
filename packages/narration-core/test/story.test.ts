import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNarrator, newCorrelationId, withCorrelation } from '@vramseal/narration-core';
import {
  captureNarration,
  matchStoryGolden,
  storySnapshot,
} from '@vramseal/narration-core/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';

const goldens = fileURLToPath(new URL('./goldens/', import.meta.url));

describe('storySnapshot', () => {
  it('renders one headline per event and normalises ids, times and versions', () => {
    const a = '0f8fad5b-d9cb-469f-a165-70867728950e';
    const b = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
    const events = [
      {
        level: 'info',
        emitted_at_ms: 1795327863151,
        pid: 1234,
        hostname: 'gpu-node-7',
        emitted_by: '@vramseal/vram-manager@0.3.1',
        actor: 'vram-manager',
        action: 'seal',
        target: 'shard-0',
        human: `Sealed shard 0 for request ${a} in 412 ms.`,
        correlation_id: a,
        duration_ms: 412,
        backoff_ms: 250,
        trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
        context: { z: 1, a: { at: '2026-11-22T06:17:11.426Z' } },
      },
      {
        level: 'error',
        actor: 'gateway',
        action: 'respond',
        target: '/v1/infer',
        human: 'Answered.',
        correlation_id: b,
        span_id: '00f067aa0ba902b7',
      },
      {
        level: 'info',
        actor: 'gateway',
        action: 'done',
        target: 'x',
        human: 'Same.',
        correlation_id: a,
      },
    ];
    expect(storySnapshot(events)).toBe(
      [
        'info vram-manager seal shard-0: Sealed shard 0 for request <id-1> in <ms>.',
        '    backoff_ms=250',
        '    context={"a":{"at":"<time>"},"z":1}',
        '    correlation_id=<id-1>',
        '    duration_ms=<ms>',
        '    emitted_by=@vramseal/vram-manager@<version>',
        '    trace_id=<trace-1>',
        'error gateway respond /v1/infer: Answered.',
        '    correlation_id=<id-2>',
        '    span_id=<span-1>',
        'info gateway done x: Same.',
        '    correlation_id=<id-1>',
      ].join('\n'),
    );
  });

  it('is stable: two runs of the same flow render the same text', async () => {
    const run = () => captureNarration(() => sealFlow());
    const [first, second] = [await run(), await run()];
    expect(first.events[0]?.correlation_id).not.toBe(second.events[0]?.correlation_id);
    expect(storySnapshot(first.events)).toBe(storySnapshot(second.events));
  });

  it('rejects a non-array', () => {
    expect(() => storySnapshot('nope' as never)).toThrow(/`events` must be an array/);
  });
});

// A small real flow: two narrators, one correlation.
async function sealFlow(): Promise<void> {
  const destination = { write() {} };
  const manager = createNarrator({ actor: 'vram-manager', destination }).child({ device: 'GPU0' });
  const gateway = createNarrator({ actor: 'gateway', destination });
  await withCorrelation(newCorrelationId(), async () => {
    gateway.info({ action: 'receive', target: '/v1/seal', human: 'Received a seal request.' });
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 2));
    manager.info({
      action: 'seal',
      target: 'shard-0',
      human: 'Sealed shard 0 of llama-3-8b on GPU0.',
      duration_ms: Date.now() - started,
      context: { bytes: 1048576, leaf_size: 65536 },
    });
    gateway.info({ action: 'respond', target: '/v1/seal', human: 'Replied 201 to the client.' });
  });
}

describe('matchStoryGolden', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('matches the committed golden story of the seal flow', async () => {
    const capture = await captureNarration(() => sealFlow());
    matchStoryGolden(capture.events, join(goldens, 'seal-flow.golden.txt'));
  });

  it('UPDATE_GOLDENS=1 writes the golden file, which then matches', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'goldens-')), 'nested', 'story.golden.txt');
    const capture = await captureNarration(() => sealFlow());
    vi.stubEnv('UPDATE_GOLDENS', '1');
    matchStoryGolden(capture.events, file);
    vi.unstubAllEnvs();
    expect(readFileSync(file, 'utf8')).toBe(`${storySnapshot(capture.events)}\n`);
    matchStoryGolden(capture.events, file);
  });

  it('a difference throws GOLDEN_MISMATCH naming the first differing line', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'goldens-')), 'story.golden.txt');
    const capture = await captureNarration(() => sealFlow());
    const lines = storySnapshot(capture.events).split('\n');
    lines[2] = 'something else';
    writeFileSync(file, `${lines.join('\n')}\n`);
    expect(() => matchStoryGolden(capture.events, file)).toThrow(
      expect.objectContaining({
        code: 'GOLDEN_MISMATCH',
        message: expect.stringMatching(/at line 3:\n {2}expected: something else/),
      }),
    );
  });

  it('a missing golden throws and says how to create it', () => {
    const file = join(tmpdir(), 'does-not-exist', 'x.golden.txt');
    expect(() => matchStoryGolden([], file)).toThrow(/UPDATE_GOLDENS=1/);
  });
});
