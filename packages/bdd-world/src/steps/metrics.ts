import assert from 'node:assert/strict';
import { Then } from '@cucumber/cucumber';
import { metricSample } from '../assertions/metrics.js';
import type { VramWorld } from '../world.js';

async function sampleOf(world: VramWorld, sample: string): Promise<number | undefined> {
  return metricSample(await world.vram.prometheusMetrics(), sample);
}

Then(
  'the metric {string} is {int}',
  async function (this: VramWorld, sample: string, value: number) {
    const found = await sampleOf(this, sample);
    assert.equal(
      found,
      value,
      found === undefined ? `no sample ${sample}` : `${sample} = ${found}`,
    );
  },
);

Then(
  'the metric {string} is at least {int}',
  async function (this: VramWorld, sample: string, value: number) {
    const found = await sampleOf(this, sample);
    assert.ok(found !== undefined && found >= value, `${sample} = ${found}, expected >= ${value}`);
  },
);

Then('the metric {string} is absent', async function (this: VramWorld, sample: string) {
  assert.equal(await sampleOf(this, sample), undefined);
});
