import { type Backend, CudaFfiError, type DeviceAllocation } from '@vramseal/cuda-ffi';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mockBackend } from './helpers.js';

/**
 * Random operations with random offsets, lengths, devices and (freed) allocations through the
 * public API. Every failure must be a typed CudaFfiError (CudaError included) with a known code;
 * the process must never die; successful reads must return what a plain model says.
 */
const KNOWN_CODES = new Set([
  'INVALID_ARGUMENT',
  'OUT_OF_BOUNDS',
  'USE_AFTER_FREE',
  'INVALID_HANDLE',
  'INVALID_DEVICE',
  'ALLOCATION_BUSY',
  'cudaErrorMemoryAllocation',
]);

const anyNumber = fc.oneof(
  fc.integer({ min: -5, max: 5000 }),
  fc.constantFrom(
    Number.MAX_SAFE_INTEGER,
    2 ** 53,
    -0,
    0.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    2 ** 32,
  ),
);

type Op =
  | { op: 'allocate'; device: number; bytes: number }
  | { op: 'write'; slot: number; offset: number; length: number }
  | { op: 'read'; slot: number; offset: number; length: number }
  | { op: 'corrupt'; slot: number; offset: number; mask: number }
  | { op: 'free'; slot: number }
  | { op: 'digest'; slot: number; leafSize: number }
  | { op: 'attributes'; slot: number };

const slot = fc.nat({ max: 7 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('allocate' as const),
    device: fc.integer({ min: -1, max: 2 }),
    bytes: anyNumber,
  }),
  fc.record({
    op: fc.constant('write' as const),
    slot,
    offset: anyNumber,
    length: fc.nat({ max: 3000 }),
  }),
  fc.record({ op: fc.constant('read' as const), slot, offset: anyNumber, length: anyNumber }),
  fc.record({
    op: fc.constant('corrupt' as const),
    slot,
    offset: anyNumber,
    mask: fc.integer({ min: -1, max: 300 }),
  }),
  fc.record({ op: fc.constant('free' as const), slot }),
  fc.record({
    op: fc.constant('digest' as const),
    slot,
    leafSize: fc.constantFrom(0, 1, 64, 100, 4096),
  }),
  fc.record({ op: fc.constant('attributes' as const), slot }),
);

interface Slot {
  allocation: DeviceAllocation;
  model: Uint8Array;
}

async function apply(backend: Backend, slots: Slot[], step: Op): Promise<void> {
  if (step.op === 'allocate') {
    const allocation = backend.allocate(step.device, step.bytes);
    slots.push({ allocation, model: new Uint8Array(step.bytes) });
    return;
  }
  const target = slots[step.slot % Math.max(1, slots.length)];
  if (target === undefined) return;
  const { allocation, model } = target;
  switch (step.op) {
    case 'write': {
      const data = new Uint8Array(step.length).fill(step.length & 0xff);
      allocation.write(step.offset, data);
      model.set(data, step.offset);
      return;
    }
    case 'read': {
      const got = allocation.read(step.offset, step.length);
      expect(Buffer.compare(got, model.subarray(step.offset, step.offset + step.length))).toBe(0);
      return;
    }
    case 'corrupt':
      allocation.corrupt(step.offset, step.mask);
      model[step.offset] = (model[step.offset] ?? 0) ^ step.mask;
      return;
    case 'free':
      allocation.free();
      return;
    case 'digest':
      expect(await allocation.treeDigest({ leafSize: step.leafSize })).toHaveLength(32);
      return;
    case 'attributes':
      expect(allocation.attributes().memoryType).toBe('host');
      return;
  }
}

function expectTyped(error: unknown): void {
  if (!(error instanceof CudaFfiError) || !KNOWN_CODES.has(error.code)) throw error;
}

describe('fuzzing the JS API', () => {
  it('random operation sequences only ever fail with typed errors, and data stays consistent', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
        const backend: Backend = mockBackend();
        const slots: Slot[] = [];
        for (const step of ops) {
          try {
            await apply(backend, slots, step);
          } catch (error) {
            expectTyped(error);
          }
        }
        for (const { allocation } of slots) if (!allocation.freed) allocation.free();
        expect(backend.memInfo(0).freeBytes).toBe(backend.memInfo(0).totalBytes);
        expect(backend.memInfo(1).freeBytes).toBe(backend.memInfo(1).totalBytes);
      }),
      { numRuns: 150 },
    );
  });

  it('concurrent digests and frees of the same allocations settle with typed errors only', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('digest', 'free', 'write'), { maxLength: 12 }),
        async (plan) => {
          const backend = mockBackend();
          const allocation = backend.allocate(0, 256 * 1024);
          const pending: Promise<unknown>[] = [];
          for (const action of plan) {
            try {
              if (action === 'digest')
                pending.push(allocation.treeDigest({ leafSize: 4096 }).catch(expectTyped));
              else if (action === 'free') allocation.free();
              else allocation.write(0, new Uint8Array(16));
            } catch (error) {
              expectTyped(error);
            }
          }
          await Promise.all(pending);
          if (!allocation.freed) allocation.free();
          expect(backend.memInfo(0).freeBytes).toBe(backend.memInfo(0).totalBytes);
        },
      ),
      { numRuns: 50 },
    );
  });
});
