import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { LEAK_WARNING_CODE } from '@vramseal/cuda-ffi';
import { describe, expect, it } from 'vitest';
import { MiB, mockBackend } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function allocateAndDrop(backend: ReturnType<typeof mockBackend>): void {
  const allocation = backend.allocate(0, 3 * MiB);
  allocation.write(0, new Uint8Array(16));
}

async function collectUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !condition(); i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The process warnings emitted while `during` runs (it sees them as they arrive). */
async function collectWarnings(during: (seen: Error[]) => Promise<void>): Promise<Error[]> {
  const seen: Error[] = [];
  const onWarning = (warning: Error): void => {
    seen.push(warning);
  };
  process.on('warning', onWarning);
  try {
    await during(seen);
  } finally {
    process.off('warning', onWarning);
  }
  return seen;
}

describe('allocations dropped without free()', () => {
  it('are freed by the FinalizationRegistry, with a coded warning', async () => {
    const backend = mockBackend();
    const warnings = await collectWarnings(async (seen) => {
      allocateAndDrop(backend);
      expect(backend.memInfo(0).freeBytes).toBe(61 * MiB);
      await collectUntil(() => backend.memInfo(0).freeBytes === 64 * MiB && seen.length > 0);
    });
    expect(backend.memInfo(0).freeBytes).toBe(64 * MiB);
    const leak = warnings.find((w) => (w as Error & { code?: string }).code === LEAK_WARNING_CODE);
    expect(leak?.message).toMatch(
      /3145728-byte allocation on device 0 was garbage-collected without free\(\)/,
    );
  });

  it('freed explicitly, they are never reported', async () => {
    const backend = mockBackend();
    const warnings = await collectWarnings(async () => {
      (() => backend.allocate(0, MiB).free())();
      for (let i = 0; i < 5; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    });
    expect(
      warnings.filter((w) => (w as Error & { code?: string }).code === LEAK_WARNING_CODE),
    ).toEqual([]);
  });
});
