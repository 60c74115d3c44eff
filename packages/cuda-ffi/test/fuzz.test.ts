import {
  type Backend,
  CUDA_FFI_ERROR_CODES,
  CudaFfiError,
  type DeviceAllocation,
} from '@vramseal/cuda-ffi';
import { treeDigestSync } from '@vramseal/seal-crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hex, mockBackend } from './helpers.js';

/**
 * Random operations with random offsets, lengths, devices and (freed) allocations through the
 * public API. Every failure must be a typed CudaFfiError (CudaError included) with a known code;
 * the process must never die; successful reads must return what a plain model says.
 */
const KNOWN_CODES: ReadonlySet<string> = new Set([
  ...CUDA_FFI_ERROR_CODES,
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

  it('range digests and writes: a write is refused exactly when it overlaps a pending digest', async () => {
    const SIZE = 65_536;
    type Step =
      | { op: 'digest'; leafSize: number; leaf: number; length: number }
      | { op: 'write'; offset: number; length: number; fill: number }
      | { op: 'corrupt'; offset: number; mask: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({
        op: fc.constant('digest' as const),
        leafSize: fc.constantFrom(64, 1024, 4096),
        leaf: fc.nat({ max: 80 }),
        length: fc.nat({ max: 70_000 }),
      }),
      fc.record({
        op: fc.constant('write' as const),
        offset: fc.nat({ max: SIZE + 10 }),
        length: fc.nat({ max: 9000 }),
        fill: fc.nat({ max: 255 }),
      }),
      fc.record({
        op: fc.constant('corrupt' as const),
        offset: fc.nat({ max: SIZE }),
        mask: fc.integer({ min: 1, max: 255 }),
      }),
    );
    const overlaps = (a: number, al: number, b: number, bl: number): boolean =>
      al > 0 && bl > 0 && a < b + bl && b < a + al;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 30 }), async (plan) => {
        const backend = mockBackend();
        const allocation = backend.allocate(0, SIZE);
        const model = new Uint8Array(SIZE);
        const pinned: { offset: number; length: number }[] = [];
        const settled: Promise<void>[] = [];
        // Everything below runs in one synchronous stretch, so no digest settles (and no pin is
        // released) until the awaits at the end: the model knows exactly which ranges are pinned.
        for (const s of plan) {
          if (s.op === 'digest') {
            const offset = s.leaf * s.leafSize;
            const inBounds = offset <= SIZE && s.length <= SIZE - offset;
            const promise = allocation.treeDigest({
              leafSize: s.leafSize,
              offset,
              length: s.length,
            });
            if (!inBounds) {
              settled.push(
                expect(promise).rejects.toMatchObject({ code: 'OUT_OF_BOUNDS' }) as Promise<void>,
              );
              continue;
            }
            const expected = hex(
              treeDigestSync(model.subarray(offset, offset + s.length), { leafSize: s.leafSize })
                .root,
            );
            pinned.push({ offset, length: s.length });
            settled.push(promise.then((root) => expect(hex(root)).toBe(expected)));
            continue;
          }
          const offset = s.offset;
          const length = s.op === 'write' ? s.length : 1;
          const act =
            s.op === 'write'
              ? () => allocation.write(offset, new Uint8Array(length).fill(s.fill))
              : () => allocation.corrupt(offset, s.mask);
          if (offset + length > SIZE) {
            expect(act).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS' }));
          } else if (pinned.some((p) => overlaps(offset, length, p.offset, p.length))) {
            expect(act).toThrow(expect.objectContaining({ code: 'ALLOCATION_BUSY' }));
          } else {
            act();
            if (s.op === 'write') model.fill(s.fill, offset, offset + length);
            else model[offset] = model[offset]! ^ s.mask;
          }
        }
        await Promise.all(settled);
        expect(hex(allocation.read(0, SIZE))).toBe(hex(model));
        allocation.write(0, new Uint8Array(SIZE)); // every pin was released
        allocation.free();
        expect(backend.memInfo(0).freeBytes).toBe(backend.memInfo(0).totalBytes);
      }),
      { numRuns: 120 },
    );
  });
});
