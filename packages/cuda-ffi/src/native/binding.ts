/**
 * The shape of the native addon (native/src/addon/addon.cpp). Internal: consumers see Backend
 * and DeviceAllocation. Handles are opaque numbers; the addon never returns a pointer.
 */
export interface NativeMockOptions {
  devices: { name: string; totalBytes: number }[];
  digestThreads?: number;
}

export interface NativeDeviceInfo {
  name: string;
  uuid: string;
  totalBytes: number;
  computeCapability: string;
  integrated: boolean;
  managedMemory: boolean;
  unifiedAddressing: boolean;
  pageableMemoryAccess: boolean;
  multiProcessorCount: number;
}

export interface NativeCudaOptions {
  allowFaultInjection?: boolean;
}

export interface NativeBackend {
  kind(): 'cuda' | 'mock';
  deviceCount(): number;
  deviceInfo(device: number): NativeDeviceInfo;
  memInfo(device: number): { freeBytes: number; totalBytes: number };
  allocate(device: number, bytes: number): number;
  free(handle: number): void;
  write(handle: number, offset: number, data: Uint8Array): void;
  writeAsync(handle: number, offset: number, data: Uint8Array): Promise<void>;
  read(handle: number, offset: number, length: number): Buffer;
  attributes(handle: number): {
    memoryType: 'device' | 'host' | 'managed' | 'unregistered';
    hostPointer: boolean;
  };
  corrupt(handle: number, offset: number, xorMask: number): void;
  failNextAllocation(device: number): void;
  /** Digest of [offset, offset + length); offset defaults to 0, length to the end. */
  treeDigest(handle: number, leafSize: number, offset?: number, length?: number): Promise<Buffer>;
  /**
   * Digests of several ranges, each a tree of its own, in one batch per device (one launch per
   * step on a GPU). Every range is checked and pinned before the promise is made.
   */
  treeDigestMany(
    items: { handle: number; leafSize: number; offset?: number; length?: number }[],
  ): Promise<Buffer[]>;
  liveAllocations(): number;
  /** corrupt() is allowed: always on the mock, on cuda only with allowFaultInjection. */
  faultInjection(): boolean;
}

export interface NativeBackendInfo {
  builtWithCuda: boolean;
  cudaArchitectures: string;
  cudaRuntimeVersion: number;
  cudaDriverVersion: number;
  cudaDeviceCount: number;
  cudaUnavailable?: { error: string; operation: string; message: string };
  hostHasher: string;
  hostThreads: number;
  napiVersion: number;
}

export interface NativeAddon {
  NativeBackend: {
    new (kind: 'cuda', options?: NativeCudaOptions): NativeBackend;
    new (kind: 'mock', options: NativeMockOptions): NativeBackend;
  };
  backendInfo(): NativeBackendInfo;
  /** Test hook: sha256-tree-v1 with the host-compiled portable kernel core, one thread. */
  portableTreeDigest(data: Uint8Array, leafSize: number): Buffer;
}
