import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { NarrationEvent } from '@vramseal/narration-core';
import { expect, it } from 'vitest';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

const run = (file: string) =>
  promisify(execFile)(
    process.execPath,
    ['--conditions=@vramseal/source', '--import', 'tsx', file],
    { cwd: packageRoot, timeout: 30_000 },
  );

it('examples/two-narrators.ts runs and both narrators carry one correlation id', async () => {
  const { stdout } = await run('examples/two-narrators.ts');
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

it('examples/quick-start.ts runs and writes one redacted, correlated event', async () => {
  const { stdout } = await run('examples/quick-start.ts');
  const lines = stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  const event = JSON.parse(lines[0] ?? '') as NarrationEvent;
  expect(event).toMatchObject({
    actor: 'vram-manager',
    action: 'seal',
    human: 'Sealed shard 0 of llama-3-8b on GPU0 (token=[REDACTED] was used).',
  });
  expect(event.correlation_id).toMatch(/^[0-9a-f-]{36}$/);
});
