import assert from 'node:assert/strict';
import { Then, When } from '@cucumber/cucumber';
import { metricSample } from '../assertions/metrics.js';
import type { VramWorld } from '../world.js';

// Metrics beyond single samples: the gauges against the capacity queries, and the exposition after
// close (see metrics.ts for `the metric '<sample>' is <n>`).

Then(
  'the VRAM gauges agree with the capacity queries on every device',
  async function (this: VramWorld) {
    const exposition = await this.vram.prometheusMetrics();
    const devices = this.vram.devices();
    assert.ok(devices.length > 0, 'the manager reports no device');
    for (const { index } of devices) {
      const gauge = (name: string) => metricSample(exposition, `${name}{gpu_device="${index}"}`);
      this.inCorrelation(() => {
        assert.equal(
          gauge('vram_total_bytes'),
          this.vram.totalVram(index),
          `total, device ${index}`,
        );
        assert.equal(gauge('vram_used_bytes'), this.vram.usedVram(index), `used, device ${index}`);
        assert.equal(
          gauge('vram_available_bytes'),
          this.vram.availableVram(index),
          `available, device ${index}`,
        );
      });
    }
  },
);

When('the worker closes the VRAM manager', async function (this: VramWorld) {
  await this.inCorrelation(() => this.vram.close());
});

Then('the metrics exposition is empty', async function (this: VramWorld) {
  const exposition = await this.vram.prometheusMetrics();
  assert.equal(exposition.trim(), '', `the closed manager still exposes:\n${exposition}`);
});
