import { METRIC_NAMES, VramError, VramManager } from '@vramseal/vram-manager';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { mockBackend } from './fake-gpu.js';
import {
  expectCleanObservability,
  type Harness,
  harness,
  MiB,
  randomShard,
  TOKEN,
} from './helpers.js';

let h: Harness | undefined;
const extra: VramManager[] = [];
afterEach(async () => {
  for (const m of extra.splice(0)) await m.close();
});

/** The samples of a Prometheus text exposition: `name{a="1",b="2"}` (labels sorted) -> value. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    expect(match, `unparseable exposition line: ${line}`).not.toBeNull();
    const [, name, labelText = '', value] = match!;
    const labels = [...labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)]
      .map(([, k, v]) => `${k}="${v}"`)
      .sort();
    const key = labels.length === 0 ? name! : `${name}{${labels.join(',')}}`;
    samples.set(key, value === '+Inf' ? Number.POSITIVE_INFINITY : Number(value));
  }
  return samples;
}

async function scrape(manager: VramManager): Promise<Map<string, number>> {
  return parseExposition(await manager.prometheusMetrics());
}

const base = { workerToken: TOKEN, workerId: 'worker-metrics' } as const;

describe('prometheusMetrics()', () => {
  it('capacity gauges per device equal the capacity methods, at every scrape', async () => {
    h = await harness({
      backend: mockBackend([64 * MiB, 32 * MiB]),
      policy: { headroomBytes: MiB },
    });
    const m = h.manager;
    const text = await m.prometheusMetrics();
    for (const name of METRIC_NAMES) expect(text).toContain(`# TYPE ${name} `);
    const check = async () => {
      const samples = await scrape(m);
      for (const d of [0, 1]) {
        expect(samples.get(`vram_total_bytes{gpu_device="${d}"}`)).toBe(m.totalVram(d));
        expect(samples.get(`vram_used_bytes{gpu_device="${d}"}`)).toBe(m.usedVram(d));
        expect(samples.get(`vram_available_bytes{gpu_device="${d}"}`)).toBe(m.availableVram(d));
      }
      expect(samples.has('vram_total_bytes{gpu_device="2"}')).toBe(false);
    };
    await check();
    expect((await scrape(m)).get('vram_available_bytes{gpu_device="1"}')).toBe(31 * MiB);
    const shard = await m.sealModel(randomShard(5 * MiB), { device: 1 });
    await check();
    expect((await scrape(m)).get('vram_used_bytes{gpu_device="1"}')).toBe(5 * MiB);
    await m.deallocate(shard);
    await check();
    expect((await scrape(m)).get('vram_used_bytes{gpu_device="1"}')).toBe(0);
  });

  it('counts seals and verifies by result, and times them in histograms', async () => {
    h = await harness({ backend: mockBackend([16 * MiB]) });
    const m = h.manager;
    let samples = await scrape(m);
    // Both results exist from the first scrape, at 0.
    for (const op of ['seal', 'verify']) {
      expect(samples.get(`vram_${op}_operations_total{result="success"}`)).toBe(0);
      expect(samples.get(`vram_${op}_operations_total{result="failure"}`)).toBe(0);
    }
    expect(samples.get('vram_observability_failures_total{sink="audit"}')).toBe(0);
    expect(samples.get('vram_observability_failures_total{sink="narration"}')).toBe(0);

    const a = await m.sealModel(randomShard(4 * MiB));
    const b = await m.sealModel(randomShard(MiB));
    await expect(m.sealModel(randomShard(12 * MiB))).rejects.toMatchObject({
      code: 'INSUFFICIENT_VRAM',
    });
    await m.verifySealed(a);
    await m.verifySealed(b);
    await m.verifySealed(a, { deep: true });
    m.injectFault(b, { offset: 0, xorMask: 1 });
    await expect(m.verifySealed(b)).rejects.toMatchObject({ code: 'SEAL_VERIFICATION_FAILED' });

    samples = await scrape(m);
    expect(samples.get('vram_seal_operations_total{result="success"}')).toBe(2);
    expect(samples.get('vram_seal_operations_total{result="failure"}')).toBe(1);
    expect(samples.get('vram_verify_operations_total{result="success"}')).toBe(3);
    expect(samples.get('vram_verify_operations_total{result="failure"}')).toBe(1);
    for (const [op, success, failure] of [
      ['seal', 2, 1],
      ['verify', 3, 1],
    ] as const) {
      for (const [result, count] of [
        ['success', success],
        ['failure', failure],
      ] as const) {
        const name = `vram_${op}_duration_seconds`;
        expect(samples.get(`${name}_count{result="${result}"}`)).toBe(count);
        expect(samples.get(`${name}_bucket{le="+Inf",result="${result}"}`)).toBe(count);
        expect(samples.get(`${name}_sum{result="${result}"}`)).toBeGreaterThan(0);
        // Buckets are cumulative.
        const buckets = [...samples.entries()]
          .filter(
            ([key]) => key.startsWith(`${name}_bucket{`) && key.includes(`result="${result}"`),
          )
          .map(([key, value]) => [Number(/le="([^"]+)"/.exec(key)![1]), value] as const)
          .sort((x, y) => x[0] - y[0]);
        expect(buckets.length).toBeGreaterThan(5);
        for (let i = 1; i < buckets.length; i++)
          expect(buckets[i]![1]).toBeGreaterThanOrEqual(buckets[i - 1]![1]);
      }
    }
    await m.reset({ operator: 'metrics-test', reason: 'fault injected on purpose' });
    await expectCleanObservability(h);
  });
});

describe('an injected Registry', () => {
  it('holds the metrics; a second manager on it is CONFIG_ERROR; after close a new manager can use it', async () => {
    const registry = new Registry();
    h = await harness({ backend: mockBackend([8 * MiB]), metricsRegistry: registry });
    for (const name of METRIC_NAMES) expect(registry.getSingleMetric(name), name).toBeDefined();
    await h.manager.sealModel(randomShard(MiB));
    const fromRegistry = parseExposition(await registry.metrics());
    expect(fromRegistry.get('vram_seal_operations_total{result="success"}')).toBe(1);
    expect(fromRegistry.get('vram_used_bytes{gpu_device="0"}')).toBe(MiB);
    expect(fromRegistry).toEqual(await scrape(h.manager));

    const second = await VramManager.create({
      ...base,
      backend: mockBackend([8 * MiB]),
      metricsRegistry: registry,
    }).catch((e) => e);
    expect(second).toBeInstanceOf(VramError);
    expect(second).toMatchObject({ code: 'CONFIG_ERROR', option: 'metricsRegistry' });
    // The refused manager took nothing away from the first.
    expect((await scrape(h.manager)).get('vram_seal_operations_total{result="success"}')).toBe(1);
    for (const name of METRIC_NAMES) expect(registry.getSingleMetric(name), name).toBeDefined();

    await h.manager.close();
    for (const name of METRIC_NAMES) expect(registry.getSingleMetric(name), name).toBeUndefined();
    expect(await registry.metrics()).not.toMatch(/vram_/);

    const next = await VramManager.create({
      ...base,
      backend: mockBackend([4 * MiB]),
      metricsRegistry: registry,
    });
    extra.push(next);
    const samples = parseExposition(await registry.metrics());
    expect(samples.get('vram_seal_operations_total{result="success"}')).toBe(0);
    expect(samples.get('vram_total_bytes{gpu_device="0"}')).toBe(4 * MiB);
  });

  it('other metrics in the registry are left alone; managers without a registry each get their own', async () => {
    const registry = new Registry();
    const { Counter } = await import('prom-client');
    const mine = new Counter({
      name: 'app_requests_total',
      help: 'requests',
      registers: [registry],
    });
    mine.inc(3);
    const a = await VramManager.create({
      ...base,
      backend: mockBackend([MiB]),
      metricsRegistry: registry,
    });
    extra.push(a);
    expect(parseExposition(await registry.metrics()).get('app_requests_total')).toBe(3);
    await a.close();
    expect(registry.getSingleMetric('app_requests_total')).toBe(mine);

    const b = await VramManager.create({ ...base, backend: mockBackend([MiB]) });
    const c = await VramManager.create({ ...base, backend: mockBackend([2 * MiB]) });
    extra.push(b, c);
    await b.sealModel(randomShard(100));
    expect((await scrape(b)).get('vram_seal_operations_total{result="success"}')).toBe(1);
    expect((await scrape(c)).get('vram_seal_operations_total{result="success"}')).toBe(0);
    expect((await scrape(c)).get('vram_total_bytes{gpu_device="0"}')).toBe(2 * MiB);
  });
});
