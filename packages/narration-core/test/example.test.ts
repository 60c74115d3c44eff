import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { NarrationEvent } from '@vramseal/narration-core';
import { expect, it } from 'vitest';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

it('examples/two-narrators.ts runs and both narrators carry one correlation id', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--conditions=@vramseal/source', '--import', 'tsx', 'examples/two-narrators.ts'],
    { cwd: packageRoot, timeout: 30_000 },
  );
  const events = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as NarrationEvent);
  expect(events.map((event) => `${event.actor} ${event.action}`)).toEqual([
    'api-gateway receive',
    'gpu-worker verify',
    'api-gateway respond',
  ]);
  const ids = new Set(events.map((event) => event.correlation_id));
  expect(ids.size).toBe(1);
  expect([...ids][0]).toMatch(
    /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
  expect(events[1]).toMatchObject({ worker_id: 'worker-0', device: 'GPU0' });
  expect(new Set(events.map((event) => event.emitted_by))).toEqual(
    new Set(['example-gateway@1.0.0', 'example-worker@1.0.0']),
  );
});
