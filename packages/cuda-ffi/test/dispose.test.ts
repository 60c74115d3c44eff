import { CudaFfiError, loadBackend } from '@vramseal/cuda-ffi';
import { describe, expect, it } from 'vitest';
import { MiB } from './helpers.js';

function backend() {
  return loadBackend({ kind: 'mock', mock: { devices: [{ totalBytes: 16 * MiB }] } });
}

describe('Symbol.dispose', () => {
  it('an allocation frees itself, once (a second dispose does nothing)', () => {
    const mock = backend();
    const allocation = mock.allocate(0, MiB);
    allocation[Symbol.dispose]();
    expect(allocation.freed).toBe(true);
    expect(mock.memInfo(0).freeBytes).toBe(16 * MiB);
    allocation[Symbol.dispose]();
    expect(() => allocation.free()).toThrow(CudaFfiError);
  });

  it('a backend frees every allocation still live, and stays usable', () => {
    const mock = backend();
    const kept = [mock.allocate(0, MiB), mock.allocate(0, 2 * MiB)];
    const freedEarly = mock.allocate(0, MiB);
    freedEarly.free();
    expect(mock.memInfo(0).freeBytes).toBe(13 * MiB);
    mock[Symbol.dispose]();
    expect(kept.map((allocation) => allocation.freed)).toEqual([true, true]);
    expect(mock.memInfo(0).freeBytes).toBe(16 * MiB);
    const again = mock.allocate(0, MiB);
    expect(again.freed).toBe(false);
    mock[Symbol.dispose]();
    expect(again.freed).toBe(true);
  });
});
