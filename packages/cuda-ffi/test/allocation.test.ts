import { inspect } from 'node:util';
import { CudaFfiError, DeviceAllocation } from '@vramseal/cuda-ffi';
import { describe, expect, it } from 'vitest';
import { hex, MiB, mockBackend, seededBytes } from './helpers.js';

describe('DeviceAllocation', () => {
  it('round-trips bytes written at an offset', () => {
    const allocation = mockBackend().allocate(0, 4096);
    const data = seededBytes(1000, 1);
    allocation.write(3000, data);
    expect(hex(allocation.read(3000, 1000))).toBe(hex(data));
    expect([...allocation.read(0, 4)]).toEqual([0, 0, 0, 0]); // fresh mock memory is zeroed
    allocation.free();
  });

  it('accepts a Buffer and a subarray view, copying only the viewed bytes', () => {
    const allocation = mockBackend().allocate(0, 16);
    const backing = seededBytes(64, 2);
    allocation.write(0, backing.subarray(10, 26));
    expect(hex(allocation.read(0, 16))).toBe(hex(backing.subarray(10, 26)));
    allocation.write(0, Buffer.from('hello'));
    expect(Buffer.from(allocation.read(0, 5)).toString()).toBe('hello');
    allocation.free();
  });

  it('reports device, bytes and freed', () => {
    const allocation = mockBackend().allocate(1, 100);
    expect(allocation.device).toBe(1);
    expect(allocation.bytes).toBe(100);
    expect(allocation.freed).toBe(false);
    allocation.free();
    expect(allocation.freed).toBe(true);
  });

  it.each([
    ['write past the end', (a: Alloc) => a.write(95, new Uint8Array(6))],
    ['read past the end', (a: Alloc) => a.read(100, 1)],
    ['read with a huge offset', (a: Alloc) => a.read(Number.MAX_SAFE_INTEGER, 1)],
    ['corrupt past the end', (a: Alloc) => a.corrupt(100, 1)],
  ])('%s is OUT_OF_BOUNDS and changes nothing', (_name, act) => {
    const allocation = mockBackend().allocate(0, 100);
    allocation.write(0, seededBytes(100, 3));
    expect(() => act(allocation)).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS' }));
    expect(hex(allocation.read(0, 100))).toBe(hex(seededBytes(100, 3)));
    allocation.free();
  });

  it('the last byte and zero-length copies at the end are in bounds', () => {
    const allocation = mockBackend().allocate(0, 100);
    allocation.write(99, new Uint8Array([7]));
    expect([...allocation.read(99, 1)]).toEqual([7]);
    expect([...allocation.read(100, 0)]).toEqual([]);
    allocation.free();
  });

  it('every use after free, double free included, is USE_AFTER_FREE', async () => {
    const allocation = mockBackend().allocate(0, 64);
    allocation.free();
    const uses: [string, () => unknown][] = [
      ['free', () => allocation.free()],
      ['read', () => allocation.read(0, 1)],
      ['write', () => allocation.write(0, new Uint8Array(1))],
      ['attributes', () => allocation.attributes()],
      ['corrupt', () => allocation.corrupt(0, 1)],
    ];
    for (const [, use] of uses) {
      expect(use).toThrow(
        expect.objectContaining({ name: 'CudaFfiError', code: 'USE_AFTER_FREE' }),
      );
    }
    await expect(allocation.treeDigest()).rejects.toMatchObject({ code: 'USE_AFTER_FREE' });
  });

  it.each([
    ['offset -1', (a: Alloc) => a.read(-1, 1), 'offset'],
    ['offset 1.5', (a: Alloc) => a.write(1.5, new Uint8Array(1)), 'offset'],
    ['length NaN', (a: Alloc) => a.read(0, Number.NaN), 'length'],
    ['data as a string', (a: Alloc) => a.write(0, 'abc' as never), 'data'],
    ['data as an array', (a: Alloc) => a.write(0, [1, 2] as never), 'data'],
    ['xorMask 0', (a: Alloc) => a.corrupt(0, 0), 'xorMask'],
    ['xorMask 256', (a: Alloc) => a.corrupt(0, 256), 'xorMask'],
  ])('%s is INVALID_ARGUMENT naming the argument', (_name, act, argument) => {
    const allocation = mockBackend().allocate(0, 16);
    expect(() => act(allocation)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', argument }),
    );
    allocation.free();
  });

  it('mock memory says host with a host pointer, never device', () => {
    const allocation = mockBackend().allocate(0, 16);
    expect(allocation.attributes()).toEqual({ memoryType: 'host', hostPointer: true });
    allocation.free();
  });

  it('corrupt flips exactly the masked bits of one byte', () => {
    const allocation = mockBackend().allocate(0, 8);
    allocation.write(0, new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7]));
    allocation.corrupt(5, 0x81);
    expect([...allocation.read(0, 8)]).toEqual([0, 1, 2, 3, 4, 5 ^ 0x81, 6, 7]);
    allocation.free();
  });

  it('a corrupted byte changes the tree digest; flipping it back restores it', async () => {
    const allocation = mockBackend().allocate(0, 300_000);
    allocation.write(0, seededBytes(300_000, 4));
    const before = hex(await allocation.treeDigest({ leafSize: 4096 }));
    allocation.corrupt(123_456, 0x10);
    expect(hex(await allocation.treeDigest({ leafSize: 4096 }))).not.toBe(before);
    allocation.corrupt(123_456, 0x10);
    expect(hex(await allocation.treeDigest({ leafSize: 4096 }))).toBe(before);
    allocation.free();
  });

  it('refuses writes while a digest reads it, and allows them after', async () => {
    const allocation = mockBackend().allocate(0, 32 * MiB);
    const digest = allocation.treeDigest();
    expect(() => allocation.write(0, new Uint8Array(1))).toThrow(
      expect.objectContaining({ code: 'ALLOCATION_BUSY' }),
    );
    expect(() => allocation.corrupt(0, 1)).toThrow(
      expect.objectContaining({ code: 'ALLOCATION_BUSY' }),
    );
    expect([...allocation.read(0, 1)]).toEqual([0]); // reading alongside is fine
    await digest;
    allocation.write(0, new Uint8Array([1]));
    allocation.free();
  });

  it('free() during a digest: the digest still completes and the memory returns after', async () => {
    const backend = mockBackend();
    const allocation = backend.allocate(0, 32 * MiB);
    const zeros = allocation.treeDigest({ leafSize: 65536 });
    allocation.free();
    expect(allocation.freed).toBe(true);
    const root = await zeros;
    expect(root).toHaveLength(32);
    expect(backend.memInfo(0).freeBytes).toBe(64 * MiB);
  });

  it.each([0, 63, 100, 2 ** 31, 1.5])('rejects leafSize %s', async (leafSize) => {
    const allocation = mockBackend().allocate(0, 64);
    await expect(allocation.treeDigest({ leafSize })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      argument: 'options.leafSize',
    });
    allocation.free();
  });

  it('a failing cudaFree is thrown as a CudaError, and the allocation still counts as freed', () => {
    // No GPU here, so a stand-in for the addon answers free() the way the cuda backend does when
    // cudaFree fails: after the handle is already gone from the native table.
    const native = {
      free(): never {
        throw Object.assign(new Error('cudaFree failed: cudaErrorIllegalAddress'), {
          code: 'CUDA_ERROR',
          cudaError: 'cudaErrorIllegalAddress',
          operation: 'cudaFree',
        });
      },
    };
    const allocation = new DeviceAllocation(native as never, 1, 0, 16);
    expect(() => allocation.free()).toThrow(
      expect.objectContaining({
        name: 'CudaError',
        code: 'cudaErrorIllegalAddress',
        operation: 'cudaFree',
      }),
    );
    expect(allocation.freed).toBe(true);
  });

  it('never shows its handle in JSON or util.inspect', () => {
    const allocation = mockBackend().allocate(0, 10);
    expect(JSON.parse(JSON.stringify(allocation))).toEqual({ device: 0, bytes: 10, freed: false });
    expect(inspect(allocation, { showHidden: true, depth: 5 })).not.toMatch(/\d{7,}/);
    allocation.free();
  });

  it('errors carry no addresses', () => {
    const allocation = mockBackend().allocate(0, 10);
    let caught: unknown;
    try {
      allocation.read(5, 6);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CudaFfiError);
    expect((caught as Error).message).toMatch(/offset 5 \+ length 6 .* 10 bytes/);
    expect((caught as Error).message).not.toMatch(/0x[0-9a-f]{6,}/i);
    allocation.free();
  });
});

type Alloc = ReturnType<ReturnType<typeof mockBackend>['allocate']>;
