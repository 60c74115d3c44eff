import { constants as bufferConstants } from 'node:buffer';
import { assertBytes, assertInteger, assertObject, describe } from '../errors/arguments.js';
import { CudaError, CudaFfiError } from '../errors/errors.js';
import { callNative, fromNative } from '../errors/from-native.js';
import type { NativeBackend } from '../native/binding.js';

/** Where an allocation's bytes live, from cudaPointerGetAttributes (`host` on the mock). */
export type MemoryType = 'device' | 'host' | 'managed';

export interface AllocationAttributes {
  memoryType: MemoryType;
  /**
   * The memory can also be reached through a host pointer (cudaPointerGetAttributes'
   * `hostPointer`). cudaMalloc memory has none; the mock (host memory) always has one. A VRAM-only
   * policy refuses anything that is not `memoryType: 'device'` with `hostPointer: false`.
   */
  hostPointer: boolean;
}

export interface TreeDigestOptions {
  /** Bytes per leaf: a power of two from 64 to 2^30, as in seal-crypto. Default 65536. */
  leafSize?: number;
  /** First byte of the range, a multiple of leafSize. Default 0. */
  offset?: number;
  /** Bytes in the range (0 gives SHA-256 of the empty string). Default: to the end (bytes - offset). */
  length?: number;
}

/** One range of a batched digest (Backend.treeDigestMany): an allocation and TreeDigestOptions. */
export interface TreeDigestRequest extends TreeDigestOptions {
  allocation: DeviceAllocation;
}

/** The most ranges one treeDigestMany call takes. */
export const MAX_DIGEST_BATCH = 65_536;

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
  /** Tells the backend the allocation is gone (it tracks live ones to free them on dispose). */
  released: () => void;
}

/**
 * Allocations dropped without free(): free them and say so. The held value references the
 * native backend and the handle, never the DeviceAllocation itself (that would keep it alive).
 */
const leaked = new FinalizationRegistry<Held>((held) => {
  held.released();
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

const DIGEST_OPTIONS: ReadonlySet<string> = new Set(['leafSize', 'offset', 'length']);

/**
 * The addon names its treeDigest arguments `offset`, `length`, `leafSize` (e.g. OUT_OF_BOUNDS
 * naming `offset` when the range does not fit); to the caller they are `options.*`.
 */
function asOptionError(error: unknown): unknown {
  if (
    error instanceof CudaFfiError &&
    !(error instanceof CudaError) &&
    error.argument !== undefined &&
    DIGEST_OPTIONS.has(error.argument)
  ) {
    return new CudaFfiError(error.code, error.message, {
      argument: `options.${error.argument}`,
      cause: error,
    });
  }
  return error;
}

/**
 * A digest's leafSize, offset and length, checked as `${name}.leafSize` and so on: a power of two
 * from 64 to 2^30, an offset on a leaf boundary, and a length (absent: to the end, which C++
 * computes after checking offset <= bytes).
 */
function digestRange(
  options: unknown,
  name: string,
): { leafSize: number; offset: number; length: number | undefined } {
  const opts = assertObject(options, name, '{ leafSize: 65536, offset: 0, length: 1048576 }');
  const leafSize = assertInteger(
    opts.leafSize ?? DEFAULT_LEAF_SIZE,
    `${name}.leafSize`,
    MIN_LEAF_SIZE,
    MAX_LEAF_SIZE,
  );
  if ((leafSize & (leafSize - 1)) !== 0) {
    throw new CudaFfiError(
      'INVALID_ARGUMENT',
      `${name}.leafSize must be a power of two (64, 128, ..., 65536, ...), got ${leafSize}`,
      { argument: `${name}.leafSize` },
    );
  }
  const offset = assertInteger(opts.offset ?? 0, `${name}.offset`, 0, Number.MAX_SAFE_INTEGER);
  if (offset % leafSize !== 0) {
    throw new CudaFfiError(
      'INVALID_ARGUMENT',
      `${name}.offset must be a multiple of ${name}.leafSize (${leafSize}), got ${offset}: ` +
        'a range digest starts on a leaf boundary',
      { argument: `${name}.offset` },
    );
  }
  const length =
    opts.length === undefined
      ? undefined
      : assertInteger(opts.length, `${name}.length`, 0, Number.MAX_SAFE_INTEGER);
  return { leafSize, offset, length };
}

/** What the backend needs of an allocation for a batch (null for anything that is not one). */
let internalsOf: (
  value: unknown,
) => { native: NativeBackend; handle: number; freed: boolean } | null = () => null;

/**
 * Backend.treeDigestMany: the roots of several ranges (each a tree of its own, as treeDigest
 * gives it) in request order, in one batch per device. Every item is checked here, then every
 * range is checked and pinned in C++ before anything runs; the first problem throws, naming
 * `items[i]`.
 */
export async function treeDigestMany(native: NativeBackend, items: unknown): Promise<Uint8Array[]> {
  if (!Array.isArray(items)) {
    throw new CudaFfiError(
      'INVALID_ARGUMENT',
      `items must be an array of { allocation, leafSize?, offset?, length? }, got ${describe(items)}`,
      { argument: 'items' },
    );
  }
  if (items.length > MAX_DIGEST_BATCH) {
    throw new CudaFfiError(
      'INVALID_ARGUMENT',
      `items holds ${items.length} ranges; at most ${MAX_DIGEST_BATCH} fit one batch: split it`,
      { argument: 'items' },
    );
  }
  const requests = items.map((item: unknown, i) => {
    const name = `items[${i}]`;
    const request = assertObject(item, name, '{ allocation, leafSize: 65536 }');
    const held = internalsOf(request.allocation);
    if (held === null) {
      throw new CudaFfiError(
        'INVALID_ARGUMENT',
        `${name}.allocation must be a DeviceAllocation, got ${describe(request.allocation)}`,
        { argument: `${name}.allocation` },
      );
    }
    if (held.native !== native) {
      throw new CudaFfiError(
        'INVALID_ARGUMENT',
        `${name}.allocation belongs to another backend; a batch digests allocations of the backend it is called on`,
        { argument: `${name}.allocation` },
      );
    }
    if (held.freed) {
      throw new CudaFfiError('USE_AFTER_FREE', `${name}.allocation was freed`, {
        argument: `${name}.allocation`,
      });
    }
    const { leafSize, offset, length } = digestRange(request, name);
    return { handle: held.handle, leafSize, offset, ...(length === undefined ? {} : { length }) };
  });
  try {
    const roots = await native.treeDigestMany(requests);
    return roots.map((root) => new Uint8Array(root));
  } catch (error) {
    throw asItemError(fromNative(error));
  }
}

/** The addon names an item's handle `items[i].handle`; to the caller it is `items[i].allocation`. */
function asItemError(error: unknown): unknown {
  const handle = /^(items\[\d+\])\.handle$/.exec(
    error instanceof CudaFfiError ? (error.argument ?? '') : '',
  );
  if (handle === null || !(error instanceof CudaFfiError) || error instanceof CudaError) {
    return error;
  }
  return new CudaFfiError(error.code, error.message, {
    argument: `${handle[1]}.allocation`,
    cause: error,
  });
}

/**
 * A block of device memory (or mock host memory). JavaScript holds only an opaque handle. Types
 * are checked here; bounds, handle state (use after free, double free) and busy allocations are
 * checked in C++, the one place every copy goes through, before a byte moves.
 */
export class DeviceAllocation {
  static {
    internalsOf = (value) =>
      typeof value === 'object' && value !== null && #handle in value
        ? { native: value.#native, handle: value.#handle, freed: value.#freed }
        : null;
  }

  readonly device: number;
  readonly bytes: number;
  readonly #native: NativeBackend;
  readonly #handle: number;
  readonly #released: () => void;
  #freed = false;

  /** @internal Made by Backend.allocate(). */
  constructor(
    native: NativeBackend,
    handle: number,
    device: number,
    bytes: number,
    released: () => void = () => {},
  ) {
    this.#native = native;
    this.#handle = handle;
    this.#released = released;
    this.device = device;
    this.bytes = bytes;
    leaked.register(this, { native, handle, device, bytes, released }, this);
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

  /**
   * Copies `data` into the allocation at `offset` on a libuv worker thread, so the JS thread can
   * go on (hash the same bytes, read the next chunk) while the copy runs. `data` must be a view of
   * a SharedArrayBuffer: that memory cannot be detached or transferred away while the worker
   * reads it (INVALID_ARGUMENT naming `data` otherwise; use write()). Do not change those bytes
   * until the promise settles. Until then the range counts as being written: a digest of an
   * overlapping range is refused (ALLOCATION_BUSY), and free() keeps the memory until the copy
   * ends. Bounds and busy ranges are checked before anything is queued.
   */
  async writeAsync(offset: number, data: Uint8Array): Promise<void> {
    assertInteger(offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
    assertBytes(data, 'data');
    if (!(data.buffer instanceof SharedArrayBuffer)) {
      throw new CudaFfiError(
        'INVALID_ARGUMENT',
        'data must be a view of a SharedArrayBuffer for writeAsync (an ordinary ArrayBuffer could be detached while the copy runs on another thread); use write() for it',
        { argument: 'data' },
      );
    }
    const pending = callNative(() => this.#native.writeAsync(this.#handle, offset, data));
    try {
      await pending;
    } catch (error) {
      throw fromNative(error);
    }
  }

  /** Copies `length` bytes at `offset` out of the allocation (device -> host). */
  read(offset: number, length: number): Uint8Array {
    assertInteger(offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
    assertInteger(length, 'length', 0, bufferConstants.MAX_LENGTH);
    return callNative(() => this.#native.read(this.#handle, offset, length));
  }

  /**
   * sha256-tree-v1 root of the byte range [offset, offset + length) of the allocation, as a tree
   * of its own (the whole allocation by default): the same bytes as seal-crypto's
   * `treeDigestSync(bytes.subarray(offset, offset + length), { leafSize })`. Computed where the
   * bytes are: a CUDA kernel on the cuda backend, native host threads on the mock. Runs off the
   * JS thread. While it runs, writes that overlap the range are refused (ALLOCATION_BUSY) and
   * writes elsewhere go ahead; free() waits for it before releasing the memory.
   */
  async treeDigest(options: TreeDigestOptions = {}): Promise<Uint8Array> {
    const { leafSize, offset, length } = digestRange(options, 'options');
    try {
      return new Uint8Array(await this.#native.treeDigest(this.#handle, leafSize, offset, length));
    } catch (error) {
      throw asOptionError(fromNative(error));
    }
  }

  /**
   * cudaPointerGetAttributes: `{ memoryType: 'device', hostPointer: false }` is the residency
   * proof of cudaMalloc memory; the mock says `{ memoryType: 'host', hostPointer: true }`.
   */
  attributes(): AllocationAttributes {
    const { memoryType, hostPointer } = callNative(() => this.#native.attributes(this.#handle));
    return { memoryType: memoryType === 'unregistered' ? 'host' : memoryType, hostPointer };
  }

  /**
   * Fault injection: XOR one byte with `xorMask` (1..255), to test that tampering is detected.
   * Always on the mock; on cuda only when the backend was opened with `allowFaultInjection: true`
   * (otherwise UNSUPPORTED). Refused (ALLOCATION_BUSY) while a digest of a range holding the byte
   * runs.
   */
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
      this.#released();
    }
  }

  /** free(), unless already freed: `using shard = backend.allocate(0, n)` frees it at scope end. */
  [Symbol.dispose](): void {
    if (!this.#freed) this.free();
  }

  toJSON(): { device: number; bytes: number; freed: boolean } {
    return { device: this.device, bytes: this.bytes, freed: this.#freed };
  }
}
