import type { Backend, DeviceAllocation } from '@vramseal/cuda-ffi';
import { Mutex } from 'async-mutex';

/** Why a reservation could not be made on a device: what was asked and what there was. */
export class CapacityShortfall {
  constructor(
    readonly device: number,
    readonly neededBytes: number,
    readonly availableBytes: number,
  ) {}
}

/** The backend refused an allocation on `device` (cudaMalloc failed): the device is named. */
export class AllocationRefused extends Error {
  constructor(
    readonly device: number,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'AllocationRefused';
  }
}

/**
 * Capacity accounting per device. A seal reserves its bytes under the device's lock: the check
 * against free memory (minus headroom) and the allocation happen with no other reservation in
 * between, so concurrent seals can never over-commit a device, whatever the allocation call does
 * in future (today it is synchronous; an asynchronous cudaMalloc would keep the same guarantee).
 */
export class CapacityLedger {
  readonly #backend: Backend;
  readonly #headroom: number;
  readonly #locks: Mutex[];
  /** Bytes this manager holds per device: live shards plus seals in progress. */
  readonly #used: number[];

  constructor(backend: Backend, headroomBytes: number) {
    this.#backend = backend;
    this.#headroom = headroomBytes;
    const count = backend.deviceCount();
    this.#locks = Array.from({ length: count }, () => new Mutex());
    this.#used = new Array<number>(count).fill(0);
  }

  get deviceCount(): number {
    return this.#used.length;
  }

  total(device: number): number {
    return this.#backend.memInfo(device).totalBytes;
  }

  used(device: number): number {
    return this.#used[device]!;
  }

  /** Free device memory minus the configured headroom: what a new seal could get now. */
  available(device: number): number {
    return Math.max(0, this.#backend.memInfo(device).freeBytes - this.#headroom);
  }

  /**
   * Reserves `bytes` on `device` (or on the device with the most available memory, for 'auto')
   * and allocates them, under that device's lock. Returns the allocation, or the shortfall of the
   * best candidate. A device whose cudaMalloc fails is skipped for the next candidate ('auto');
   * when no device allocates and one refused, that refusal is thrown (AllocationRefused, naming
   * the device). Nothing stays reserved.
   */
  async reserve(
    device: number | 'auto',
    bytes: number,
  ): Promise<{ allocation: DeviceAllocation } | { shortfall: CapacityShortfall }> {
    const candidates = device === 'auto' ? this.#byAvailability() : [device];
    let best: CapacityShortfall | undefined;
    let refused: AllocationRefused | undefined;
    for (const candidate of candidates) {
      let outcome: DeviceAllocation | CapacityShortfall;
      try {
        outcome = await this.#locks[candidate]!.runExclusive(() =>
          this.#tryAllocate(candidate, bytes),
        );
      } catch (error) {
        // With 'auto', a device that refuses (cudaMalloc failed) is skipped for the next one.
        if (!(error instanceof AllocationRefused)) throw error;
        refused ??= error;
        continue;
      }
      if (outcome instanceof CapacityShortfall) {
        if (best === undefined || outcome.availableBytes > best.availableBytes) best = outcome;
        continue;
      }
      return { allocation: outcome };
    }
    if (refused !== undefined) throw refused;
    return { shortfall: best! };
  }

  #tryAllocate(device: number, bytes: number): DeviceAllocation | CapacityShortfall {
    const available = this.available(device);
    if (bytes > available) return new CapacityShortfall(device, bytes, available);
    let allocation: DeviceAllocation;
    try {
      allocation = this.#backend.allocate(device, bytes);
    } catch (error) {
      throw new AllocationRefused(device, error);
    }
    this.#used[device]! += bytes;
    return allocation;
  }

  /** Releases an allocation's bytes from the books (after it was freed, or its free failed). */
  release(device: number, bytes: number): void {
    this.#used[device] = Math.max(0, this.#used[device]! - bytes);
  }

  #byAvailability(): number[] {
    const devices = this.#used.map((_, index) => ({ index, available: this.available(index) }));
    devices.sort((a, b) => b.available - a.available || a.index - b.index);
    return devices.map((d) => d.index);
  }
}

/** The backend's device indexes, 0..count-1. */
export function deviceIndexes(backend: Backend): number[] {
  return Array.from({ length: backend.deviceCount() }, (_, i) => i);
}
