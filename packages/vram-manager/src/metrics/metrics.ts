import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CapacityLedger } from '../capacity/capacity.js';
import { VramError } from '../errors.js';

/** Every metric the manager registers; a registry may hold them for one manager at a time. */
export const METRIC_NAMES = [
  'vram_total_bytes',
  'vram_used_bytes',
  'vram_available_bytes',
  'vram_seal_operations_total',
  'vram_verify_operations_total',
  'vram_seal_duration_seconds',
  'vram_verify_duration_seconds',
  'vram_observability_failures_total',
] as const;

export type OperationResult = 'success' | 'failure';

/**
 * Prometheus metrics through prom-client. Capacity gauges are read at scrape time (collect), so
 * they always show the device as it is; counters and histograms are updated by the operations.
 * Seal durations span from a few ms to minutes (large files), verify durations from 0.1 ms (GPU)
 * to seconds (host mock), hence the buckets.
 */
export class ManagerMetrics {
  readonly registry: Registry;
  readonly #seals: Counter<'result'>;
  readonly #verifies: Counter<'result'>;
  readonly #sealSeconds: Histogram<'result'>;
  readonly #verifySeconds: Histogram<'result'>;
  readonly #observabilityFailures: Counter<'sink'>;

  constructor(registry: Registry | undefined, capacity: CapacityLedger) {
    this.registry = registry ?? new Registry();
    const taken = METRIC_NAMES.filter((name) => this.registry.getSingleMetric(name) !== undefined);
    if (taken.length > 0) {
      throw new VramError(
        'CONFIG_ERROR',
        `metricsRegistry already holds ${taken.join(', ')} (another VramManager, not closed, uses it); give each manager its own Registry and combine them with Registry.merge()`,
        { option: 'metricsRegistry' },
      );
    }
    const registers = [this.registry];
    const devices = () => Array.from({ length: capacity.deviceCount }, (_, i) => i);
    const perDevice = (name: string, help: string, read: (device: number) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['gpu_device'],
        registers,
        collect() {
          for (const device of devices()) {
            try {
              this.set({ gpu_device: String(device) }, read(device));
            } catch {
              // A device that cannot be queried right now is left out of this scrape.
            }
          }
        },
      });
    perDevice('vram_total_bytes', 'Device memory in bytes.', (d) => capacity.total(d));
    perDevice(
      'vram_used_bytes',
      'Device memory held by this manager (sealed shards and seals in progress), in bytes.',
      (d) => capacity.used(d),
    );
    perDevice(
      'vram_available_bytes',
      'Free device memory minus the configured headroom, in bytes.',
      (d) => capacity.available(d),
    );
    this.#seals = new Counter({
      name: 'vram_seal_operations_total',
      help: 'Seals attempted, by result.',
      labelNames: ['result'],
      registers,
    });
    this.#verifies = new Counter({
      name: 'vram_verify_operations_total',
      help: 'Seal verifications, by result.',
      labelNames: ['result'],
      registers,
    });
    this.#sealSeconds = new Histogram({
      name: 'vram_seal_duration_seconds',
      help: 'Time to seal a shard: validate, allocate, upload, digest and sign.',
      labelNames: ['result'],
      buckets: [0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.#verifySeconds = new Histogram({
      name: 'vram_verify_duration_seconds',
      help: 'Time to verify a seal against device memory.',
      labelNames: ['result'],
      buckets: [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5,
      ],
      registers,
    });
    this.#observabilityFailures = new Counter({
      name: 'vram_observability_failures_total',
      help: 'Narration or audit writes that failed (the operations went on).',
      labelNames: ['sink'],
      registers,
    });
    // Both results exist from the first scrape, so rate() and absent() queries behave.
    for (const result of ['success', 'failure'] as const) {
      this.#seals.inc({ result }, 0);
      this.#verifies.inc({ result }, 0);
    }
    this.#observabilityFailures.inc({ sink: 'narration' }, 0);
    this.#observabilityFailures.inc({ sink: 'audit' }, 0);
  }

  sealed(result: OperationResult, seconds: number): void {
    this.#seals.inc({ result });
    this.#sealSeconds.observe({ result }, seconds);
  }

  verified(result: OperationResult, seconds: number): void {
    this.#verifies.inc({ result });
    this.#verifySeconds.observe({ result }, seconds);
  }

  observabilityFailed(sink: 'narration' | 'audit'): void {
    this.#observabilityFailures.inc({ sink });
  }

  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  /** Takes this manager's metrics out of the registry (on close), so another manager can use it. */
  unregister(): void {
    for (const name of METRIC_NAMES) this.registry.removeSingleMetric(name);
  }
}
