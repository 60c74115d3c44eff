import {
  DeviceAllocation,
  type TreeDigestRequest,
  treeDigestMany,
} from '../allocation/allocation.js';
import { assertInteger, assertObject, describe } from '../errors/arguments.js';
import { CudaError, CudaFfiError } from '../errors/errors.js';
import { callNative, cudaHint } from '../errors/from-native.js';
import type { NativeAddon, NativeBackend, NativeMockOptions } from '../native/binding.js';
import { requireAddon } from '../native/loader.js';

export type BackendKind = 'cuda' | 'mock';

export interface MockDeviceConfig {
  /** Shown by deviceInfo(); default `mock-<index>`. */
  name?: string;
  /** Capacity in bytes (host memory is committed lazily, only as it is written). */
  totalBytes: number;
}

export interface LoadBackendOptions {
  /** `auto` (default): cuda when a device answers, otherwise mock. */
  kind?: 'auto' | 'cuda' | 'mock';
  /**
   * Lets `corrupt()` flip bytes of real device memory on the cuda backend (tamper tests on a
   * GPU). Default false: cuda `corrupt()` is then UNSUPPORTED. The mock always allows it.
   */
  allowFaultInjection?: boolean;
  mock?: {
    /** Default: one 16 GiB device named `mock-0`. */
    devices: MockDeviceConfig[];
    /** Threads for the mock's tree digest. Default: the number of CPU cores. */
    digestThreads?: number;
  };
}

export interface DeviceInfo {
  index: number;
  name: string;
  /**
   * nvidia-smi's form on cuda, `GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (lowercase hex, from
   * cudaDeviceProp.uuid). The mock's is `MOCK-` and 16 random bytes in the same groups, made once
   * per device when the backend is created: stable for the backend's life, new for each backend.
   */
  uuid: string;
  totalBytes: number;
  /** `major.minor`, e.g. `9.0` for an H100; `null` on the mock. */
  computeCapability: string | null;
  integrated: boolean;
  managedMemory: boolean;
  unifiedAddressing: boolean;
  /** cudaDeviceProp.pageableMemoryAccess: the GPU can read pageable host memory directly (HMM/ATS). False on the mock. */
  pageableMemoryAccess: boolean;
  multiProcessorCount: number;
}

export interface MemInfo {
  freeBytes: number;
  totalBytes: number;
}

export interface BackendInfo {
  kind: BackendKind;
  /** Why this kind was chosen, in one sentence. */
  selectedBecause: string;
  /** `corrupt()` works: always on the mock, on cuda only when opened with allowFaultInjection. */
  faultInjection: boolean;
  /** The addon was compiled with nvcc (it has the cuda backend). */
  builtWithCuda: boolean;
  /** SM architectures compiled in, e.g. ['75', '80', '86', '89', '90']; [] without CUDA. */
  cudaArchitectures: string[];
  /** e.g. '13.0'; null without CUDA. */
  cudaRuntimeVersion: string | null;
  /** null when no NVIDIA driver is installed. */
  cudaDriverVersion: string | null;
  cudaDeviceCount: number;
  /** Why no CUDA device answered, when none did. */
  cudaUnavailable: { error: string; operation: string; message: string } | null;
  /** The SHA-256 the host tree digest uses. */
  hostHasher: string;
  hostThreads: number;
  /** The .node file in use. */
  addonPath: string;
  napiVersion: number;
}

/** A set of devices (real GPUs, or host-memory mocks) that allocations are made on. */
export interface Backend {
  readonly kind: BackendKind;
  /** True only for real device memory: false on the mock, which a production policy refuses. */
  isVramOnly(): boolean;
  deviceCount(): number;
  deviceInfo(device: number): DeviceInfo;
  memInfo(device: number): MemInfo;
  allocate(device: number, bytes: number): DeviceAllocation;
  /**
   * The sha256-tree-v1 roots of several ranges of this backend's allocations, each a tree of its
   * own (what `allocation.treeDigest(options)` gives for it), in request order: one batch per
   * device (on a GPU one launch per step for all of them; on the mock one pool of host threads).
   * Every range is checked and pinned before anything runs, the first problem throwing with
   * `argument` naming `items[i]...`; an empty list gives [].
   */
  treeDigestMany(items: readonly TreeDigestRequest[]): Promise<Uint8Array[]>;
  /** Mock only: the next allocate() on `device` fails with cudaErrorMemoryAllocation. */
  injectAllocationFailure(device: number): void;
  backendInfo(): BackendInfo;
}

const GiB = 2 ** 30;
const DEFAULT_MOCK_DEVICES: MockDeviceConfig[] = [{ name: 'mock-0', totalBytes: 16 * GiB }];

class NativeBackedBackend implements Backend, Disposable {
  readonly kind: BackendKind;
  /** Allocations not freed yet, by handle (weakly: a dropped one is still freed by the GC). */
  readonly #live = new Map<number, WeakRef<DeviceAllocation>>();
  readonly #native: NativeBackend;
  readonly #addon: NativeAddon;
  readonly #addonPath: string;
  readonly #selectedBecause: string;

  constructor(
    native: NativeBackend,
    addon: NativeAddon,
    addonPath: string,
    selectedBecause: string,
  ) {
    this.#native = native;
    this.#addon = addon;
    this.#addonPath = addonPath;
    this.#selectedBecause = selectedBecause;
    this.kind = native.kind();
  }

  isVramOnly(): boolean {
    return this.kind === 'cuda';
  }

  deviceCount(): number {
    return this.#native.deviceCount();
  }

  deviceInfo(device: number): DeviceInfo {
    assertDevice(device);
    const info = callNative(() => this.#native.deviceInfo(device));
    return {
      index: device,
      name: info.name,
      uuid: info.uuid,
      totalBytes: info.totalBytes,
      computeCapability: this.kind === 'cuda' ? info.computeCapability : null,
      integrated: info.integrated,
      managedMemory: info.managedMemory,
      unifiedAddressing: info.unifiedAddressing,
      pageableMemoryAccess: info.pageableMemoryAccess,
      multiProcessorCount: info.multiProcessorCount,
    };
  }

  memInfo(device: number): MemInfo {
    assertDevice(device);
    return callNative(() => this.#native.memInfo(device));
  }

  allocate(device: number, bytes: number): DeviceAllocation {
    assertDevice(device);
    assertInteger(bytes, 'bytes', 1, Number.MAX_SAFE_INTEGER);
    const handle = callNative(() => this.#native.allocate(device, bytes));
    const live = this.#live;
    const allocation = new DeviceAllocation(this.#native, handle, device, bytes, () =>
      live.delete(handle),
    );
    live.set(handle, new WeakRef(allocation));
    return allocation;
  }

  treeDigestMany(items: readonly TreeDigestRequest[]): Promise<Uint8Array[]> {
    return treeDigestMany(this.#native, items);
  }

  injectAllocationFailure(device: number): void {
    assertDevice(device);
    callNative(() => this.#native.failNextAllocation(device));
  }

  backendInfo(): BackendInfo {
    const info = this.#addon.backendInfo();
    const version = (v: number) => (v > 0 ? `${Math.floor(v / 1000)}.${(v % 1000) / 10}` : null);
    return {
      kind: this.kind,
      selectedBecause: this.#selectedBecause,
      faultInjection: this.#native.faultInjection(),
      builtWithCuda: info.builtWithCuda,
      cudaArchitectures: info.cudaArchitectures === '' ? [] : info.cudaArchitectures.split(','),
      cudaRuntimeVersion: version(info.cudaRuntimeVersion),
      cudaDriverVersion: version(info.cudaDriverVersion),
      cudaDeviceCount: info.cudaDeviceCount,
      cudaUnavailable: info.cudaUnavailable ?? null,
      hostHasher: info.hostHasher,
      hostThreads: info.hostThreads,
      addonPath: this.#addonPath,
      napiVersion: info.napiVersion,
    };
  }

  /**
   * Frees every allocation made through this backend that is still live (`using backend =
   * loadBackend()` at the top of a scope). Each is freed even if another fails; the first failure
   * is thrown afterwards. The backend stays usable.
   */
  [Symbol.dispose](): void {
    let failure: unknown;
    for (const ref of [...this.#live.values()]) {
      try {
        ref.deref()?.[Symbol.dispose]();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }

  toJSON(): { kind: BackendKind; devices: number } {
    return { kind: this.kind, devices: this.deviceCount() };
  }
}

function assertDevice(device: unknown): asserts device is number {
  if (typeof device !== 'number' || !Number.isSafeInteger(device)) {
    throw new CudaFfiError(
      'INVALID_DEVICE',
      `device must be an integer device index, got ${describe(device)}`,
      { argument: 'device' },
    );
  }
}

function mockOptions(options: LoadBackendOptions): NativeMockOptions {
  if (options.mock === undefined)
    return { devices: DEFAULT_MOCK_DEVICES.map((d) => ({ ...d, name: d.name ?? 'mock-0' })) };
  const mock = assertObject(options.mock, 'options.mock', '{ devices: [{ totalBytes: 2 ** 30 }] }');
  if (!Array.isArray(mock.devices) || mock.devices.length === 0) {
    throw new CudaFfiError(
      'INVALID_ARGUMENT',
      `options.mock.devices must be a non-empty array such as [{ totalBytes: 2 ** 30 }], got ${describe(mock.devices)}`,
      { argument: 'options.mock.devices' },
    );
  }
  const devices = mock.devices.map((entry: unknown, index: number) => {
    const where = `options.mock.devices[${index}]`;
    const device = assertObject(entry, where, '{ name: "mock-0", totalBytes: 2 ** 30 }');
    const totalBytes = assertInteger(
      device.totalBytes,
      `${where}.totalBytes`,
      1,
      Number.MAX_SAFE_INTEGER,
    );
    if (device.name !== undefined && typeof device.name !== 'string') {
      throw new CudaFfiError(
        'INVALID_ARGUMENT',
        `${where}.name must be a string, got ${describe(device.name)}`,
        {
          argument: `${where}.name`,
        },
      );
    }
    return { name: device.name ?? `mock-${index}`, totalBytes };
  });
  const result: NativeMockOptions = { devices };
  if (mock.digestThreads !== undefined) {
    result.digestThreads = assertInteger(mock.digestThreads, 'options.mock.digestThreads', 1, 1024);
  }
  return result;
}

/** new NativeBackend('cuda'), with errors that say a GPU was asked for and what to do instead. */
function openCuda(addon: NativeAddon, allowFaultInjection: boolean): NativeBackend {
  try {
    return callNative(() => new addon.NativeBackend('cuda', { allowFaultInjection }));
  } catch (error) {
    const advice = "use kind 'auto' or 'mock' on machines without a GPU";
    if (error instanceof CudaError) {
      throw new CudaError(
        error.code,
        error.operation,
        `kind 'cuda' was requested but no CUDA device answered: ${error.message}; ${advice}`,
        { cause: error },
      );
    }
    if (error instanceof CudaFfiError && error.code === 'CUDA_NOT_BUILT') {
      throw new CudaFfiError(
        'CUDA_NOT_BUILT',
        `kind 'cuda' was requested but ${error.message}; or ${advice}`,
        { cause: error },
      );
    }
    throw error;
  }
}

function cudaUnavailableReason(addon: NativeAddon): string | null {
  const info = addon.backendInfo();
  if (info.cudaUnavailable === undefined) return null;
  const { error, message } = info.cudaUnavailable;
  const hint = cudaHint(error);
  return `${error}${hint === '' ? '' : `: ${hint}`} (${message})`;
}

/**
 * Opens a backend. `auto` picks cuda when a CUDA device answers and the mock otherwise;
 * `cuda` fails with a CudaError (or CUDA_NOT_BUILT) that says why no device answered;
 * `mock` always works where the addon loads. Throws NATIVE_UNAVAILABLE, with the reason, when
 * the addon itself cannot be loaded. `allowFaultInjection: true` enables `corrupt()` on cuda.
 */
export function loadBackend(options: LoadBackendOptions = {}): Backend & Disposable {
  const opts = assertObject(options, 'options', "{ kind: 'auto' }") as LoadBackendOptions;
  const kind = opts.kind ?? 'auto';
  if (kind !== 'auto' && kind !== 'cuda' && kind !== 'mock') {
    throw new CudaFfiError(
      'INVALID_ARGUMENT',
      `options.kind must be 'auto', 'cuda' or 'mock', got ${describe(kind)}`,
      { argument: 'options.kind' },
    );
  }
  // Only `undefined` means the default: null or 0 are mistakes, not false.
  const allowFaultInjection =
    opts.allowFaultInjection === undefined ? false : opts.allowFaultInjection;
  if (typeof allowFaultInjection !== 'boolean') {
    throw new CudaFfiError(
      'INVALID_ARGUMENT',
      `options.allowFaultInjection must be a boolean, got ${describe(allowFaultInjection)}`,
      { argument: 'options.allowFaultInjection' },
    );
  }
  const mock = mockOptions(opts);
  const { addon, path } = requireAddon();
  if (kind === 'mock') {
    const native = callNative(() => new addon.NativeBackend('mock', mock));
    return new NativeBackedBackend(native, addon, path, "kind 'mock' was requested");
  }
  const noCuda = cudaUnavailableReason(addon);
  if (kind === 'cuda' || noCuda === null) {
    const native = openCuda(addon, allowFaultInjection);
    return new NativeBackedBackend(native, addon, path, `a CUDA device answered (kind '${kind}')`);
  }
  const native = callNative(() => new addon.NativeBackend('mock', mock));
  return new NativeBackedBackend(native, addon, path, `no CUDA device answered: ${noCuda}`);
}
