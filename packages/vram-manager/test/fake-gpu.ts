import {
  type AllocationAttributes,
  type Backend,
  type BackendInfo,
  CudaError,
  type DeviceAllocation,
  type DeviceInfo,
  loadBackend,
} from '@vramseal/cuda-ffi';
import { MiB } from './helpers.js';

/**
 * Test doubles of the dependency (@vramseal/cuda-ffi), never of the manager: backends that present
 * GPU facts this machine cannot produce, built on a real mock backend that does the actual work
 * (allocation, copies, tree digests, fault injection, capacity).
 */

/**
 * An explicit host-memory mock backend, whatever VRAMSEAL_BACKEND says: for tests whose facts only
 * the mock has (device sizes, `injectAllocationFailure`, `memoryType: 'host'`, exact free memory
 * without other processes on the device).
 */
export function mockBackend(devices: number[] = [256 * MiB]): Backend {
  return loadBackend({
    kind: 'mock',
    mock: {
      devices: devices.map((totalBytes, i) => ({ name: `mock-${i}`, totalBytes })),
      digestThreads: 2,
    },
  });
}

export interface FakeGpuOptions {
  /** Bytes per device (default one 256 MiB device). */
  devices?: number[];
  /** Whether each device reports itself integrated (default false: discrete GPUs). */
  integrated?: boolean;
  managedMemory?: boolean;
  pageableMemoryAccess?: boolean;
  /** What `attributes()` of every allocation says (default cudaMalloc memory). */
  attributes?: AllocationAttributes;
}

export interface FakeGpu {
  /** The backend to give the manager: kind 'cuda', devices as configured. */
  readonly backend: Backend;
  /** The mock underneath (its memInfo is the truth about what is allocated). */
  readonly inner: Backend;
  /** What `attributes()` reports from now on, for every allocation (live ones included). */
  attributes: AllocationAttributes;
  /** Every allocation handed out, in order. */
  readonly allocations: DeviceAllocation[];
}

export const FAKE_GPU_NAME = 'NVIDIA H100 80GB HBM3 (fake)';

/**
 * A backend's treeDigestMany for a double that hands out Proxies of its inner allocations: the
 * batch takes the inner backend's own allocations (a Proxy does not carry their private state),
 * looked up in `inner`, the map from each Proxy to what it wraps.
 */
export function batchThrough(
  backend: Backend,
  inner: WeakMap<object, DeviceAllocation>,
): Backend['treeDigestMany'] {
  return (items) =>
    backend.treeDigestMany(
      items.map((item) => ({ ...item, allocation: inner.get(item.allocation) ?? item.allocation })),
    );
}

/**
 * A "cuda" backend over the mock: reports kind 'cuda', discrete (or integrated) devices with a
 * compute capability and an nvidia-smi style uuid, and allocations whose pointer attributes are
 * whatever the test says (default `{ memoryType: 'device', hostPointer: false }`).
 */
export function fakeGpu(options: FakeGpuOptions = {}): FakeGpu {
  const inner = mockBackend(options.devices ?? [256 * MiB]);
  const allocations: DeviceAllocation[] = [];
  const unwrapped = new WeakMap<object, DeviceAllocation>();
  const memory: { attributes: AllocationAttributes } = {
    attributes: options.attributes ?? { memoryType: 'device', hostPointer: false },
  };
  const uuids = Array.from({ length: inner.deviceCount() }, (_, i) =>
    inner.deviceInfo(i).uuid.replace(/^MOCK-/, 'GPU-'),
  );
  const backend: Backend = {
    kind: 'cuda',
    isVramOnly: () => true,
    deviceCount: () => inner.deviceCount(),
    deviceInfo(device: number): DeviceInfo {
      const info = inner.deviceInfo(device);
      return {
        ...info,
        name: FAKE_GPU_NAME,
        uuid: uuids[device]!,
        computeCapability: '9.0',
        integrated: options.integrated ?? false,
        managedMemory: options.managedMemory ?? true,
        pageableMemoryAccess: options.pageableMemoryAccess ?? false,
        unifiedAddressing: true,
        multiProcessorCount: 132,
      };
    },
    memInfo: (device: number) => inner.memInfo(device),
    allocate(device: number, bytes: number): DeviceAllocation {
      const real = inner.allocate(device, bytes);
      const wrapped = new Proxy(real, {
        get(target, property) {
          if (property === 'attributes') return () => ({ ...memory.attributes });
          const value = Reflect.get(target, property, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      allocations.push(wrapped);
      unwrapped.set(wrapped, real);
      return wrapped;
    },
    treeDigestMany: batchThrough(inner, unwrapped),
    injectAllocationFailure: (device: number) => inner.injectAllocationFailure(device),
    backendInfo(): BackendInfo {
      return {
        ...inner.backendInfo(),
        kind: 'cuda',
        selectedBecause: 'a fake GPU over the mock backend (tests)',
        faultInjection: true,
        cudaRuntimeVersion: '12.4',
        cudaDriverVersion: '12.4',
        cudaDeviceCount: inner.deviceCount(),
        cudaUnavailable: null,
      };
    },
  };
  return {
    backend,
    inner,
    allocations,
    get attributes() {
      return memory.attributes;
    },
    set attributes(value: AllocationAttributes) {
      memory.attributes = value;
    },
  };
}

/** What a `faultyBackend` makes fail: each a function the test can switch on and off. */
export interface DeviceFaults {
  /** treeDigest of any allocation rejects with a CUDA error (the kernel failed). */
  digest: boolean;
  /** read() throws a CUDA error (a device-to-host copy failed). */
  read: boolean;
  /** free() throws a CUDA error (cudaFree failed); the handle is gone all the same. */
  free: boolean;
  /** The text those errors carry (a driver's message may hold anything); a fixed one by default. */
  message?: string;
}

/**
 * A mock backend whose allocations fail the way a sick GPU does, on demand: the CUDA errors that
 * the mock itself never produces (kernel, copy and cudaFree failures). The work is the mock's.
 */
export function faultyBackend(devices: number[] = [64 * MiB]): {
  backend: Backend;
  faults: DeviceFaults;
} {
  const inner = mockBackend(devices);
  const faults: DeviceFaults = { digest: false, read: false, free: false };
  const unwrapped = new WeakMap<object, DeviceAllocation>();
  const fail = (operation: string) =>
    new CudaError(
      'cudaErrorIllegalAddress',
      operation,
      faults.message ?? `${operation} failed: an illegal memory access was encountered (fake)`,
    );
  const backend = new Proxy(inner, {
    get(target, property) {
      if (property === 'treeDigestMany') {
        return faults.digest
          ? async () => Promise.reject(fail('treeDigestKernel'))
          : batchThrough(target, unwrapped);
      }
      if (property === 'allocate') {
        return (device: number, bytes: number) => {
          const real = target.allocate(device, bytes);
          const wrapped = new Proxy(real, {
            get(allocation, name) {
              if (name === 'treeDigest' && faults.digest)
                return async () => Promise.reject(fail('treeDigestKernel'));
              if (name === 'read' && faults.read)
                return () => {
                  throw fail('cudaMemcpy');
                };
              if (name === 'free' && faults.free) {
                return () => {
                  allocation.free();
                  throw fail('cudaFree');
                };
              }
              const value = Reflect.get(allocation, name, allocation);
              return typeof value === 'function' ? value.bind(allocation) : value;
            },
          });
          unwrapped.set(wrapped, real);
          return wrapped;
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { backend, faults };
}
