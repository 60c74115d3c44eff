import { constants as bufferConstants } from 'node:buffer';
import { assertBytes, assertInteger, assertObject } from '../errors/arguments.js';
import { CudaFfiError } from '../errors/errors.js';
import { callNative, fromNative } from '../errors/from-native.js';
import type { NativeBackend } from '../native/binding.js';

/** Where an allocation's bytes live, from cudaPointerGetAttributes (`host` on the mock). */
export type MemoryType = 'device' | 'host' | 'managed';

export interface AllocationAttributes {
  memoryType: MemoryType;
}

export interface TreeDigestOptions {
  /** Bytes per leaf: a power of two from 64 to 2^30, as in seal-crypto. Default 65536. */
  leafSize?: number;
}

/** sha256-tree-v1 leaf sizes, the same rule as seal-crypto's treeDigest. */
export const DEFAULT_LEAF_SIZE = 65_536;
const MIN_LEAF_SIZE = 64;
const MAX_LEAF_SIZE = 2 ** 30;

/** Code of the warning emitted when an allocation is garbage-collected without free(). */
export const LEAK_WARNING_CODE = 'VRAMSEAL_ALLOCATION_LEAKED';

interface Held {
  native: NativeBackend;
  handle: number;
  device: number;
  bytes: number;
}

/**
 * Allocations dropped without free(): free them and say so. The held value references the
 * native backend and the handle, never the DeviceAllocation itself (that would keep it alive).
 */
const leaked = new FinalizationRegistry<Held>((held) => {
  try {
    held.native.free(held.handle);
  } catch {
    // Already gone (its backend was released); nothing left to free.
  }
  process.emitWarning(
    `a ${held.bytes}-byte allocation on device ${held.device} was garbage-collected without free(); ` +
      'it has been freed now. Call free() when you are done with an allocation.',
    { code: LEAK_WARNING_CODE, type: 'VramsealWarning' },
  );
});

/**
 * A block of device memory (or mock host memory). JavaScript holds only an opaque handle. Types
 * are checked here; bounds, handle state (use after free, double free) and busy allocations are
 * checked in C++, the one place every copy goes through, before a byte moves.
 */
export class DeviceAllocation {
  readonly device: number;
  readonly bytes: number;
  readonly #native: NativeBackend;
  readonly #handle: number;
  #freed = false;

  /** @internal Made by Backend.allocate(). */
  constructor(native: NativeBackend, handle: number, device: number, bytes: number) {
    this.#native = native;
    this.#handle = handle;
    this.device = device;
    this.bytes = bytes;
    leaked.register(this, { native, handle, device, bytes }, this);
  }

  /** True once free() has been called. */
  get freed(): boolean {
    return this.#freed;
  }

  /** Copies `data` into the allocation at `offset` (host -> device). */
  write(offset: number, data: Uint8Array): void {
    assertInteger(offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
    assertBytes(data, 'data');
    callNative(() => this.#native.write(this.#handle, offset, data));
  }

  /** Copies `length` bytes at `offset` out of the allocation (device -> host). */
  read(offset: number, length: number): Uint8Array {
    assertInteger(offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
    assertInteger(length, 'length', 0, bufferConstants.MAX_LENGTH);
    return callNative(() => this.#native.read(this.#handle, offset, length));
  }

  /**
   * sha256-tree-v1 root of the whole allocation, computed where the bytes are: a CUDA kernel on
   * the cuda backend, native host threads on the mock. Runs off the JS thread; while it runs the
   * allocation refuses writes (ALLOCATION_BUSY), and free() waits for it before releasing memory.
   */
  async treeDigest(options: TreeDigestOptions = {}): Promise<Uint8Array> {
    const opts = assertObject(options, 'options', '{ leafSize: 65536 }');
    const leafSize = assertInteger(
      opts.leafSize ?? DEFAULT_LEAF_SIZE,
      'options.leafSize',
      MIN_LEAF_SIZE,
      MAX_LEAF_SIZE,
    );
    if ((leafSize & (leafSize - 1)) !== 0) {
      throw new CudaFfiError(
        'INVALID_ARGUMENT',
        `options.leafSize must be a power of two (64, 128, ..., 65536, ...), got ${leafSize}`,
        { argument: 'options.leafSize' },
      );
    }
    const pending = callNative(() => this.#native.treeDigest(this.#handle, leafSize));
    try {
      return new Uint8Array(await pending);
    } catch (error) {
      throw fromNative(error);
    }
  }

  /** cudaPointerGetAttributes: `device` is the residency proof; the mock says `host`. */
  attributes(): AllocationAttributes {
    const type = callNative(() => this.#native.memoryType(this.#handle));
    return { memoryType: type === 'unregistered' ? 'host' : type };
  }

  /** Mock only: XOR one byte with `xorMask` (1..255), to test that tampering is detected. */
  corrupt(offset: number, xorMask: number): void {
    assertInteger(offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
    assertInteger(xorMask, 'xorMask', 1, 255);
    callNative(() => this.#native.corrupt(this.#handle, offset, xorMask));
  }

  /**
   * Releases the memory. A second free() is a USE_AFTER_FREE error, as is any later use. If
   * cudaFree itself fails the CudaError is thrown, but the allocation counts as freed all the
   * same: the native side drops the handle before it releases the memory.
   */
  free(): void {
    try {
      callNative(() => this.#native.free(this.#handle));
    } finally {
      this.#freed = true;
      leaked.unregister(this);
    }
  }

  toJSON(): { device: number; bytes: number; freed: boolean } {
    return { device: this.device, bytes: this.bytes, freed: this.#freed };
  }
}
