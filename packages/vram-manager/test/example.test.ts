import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

it('examples/quick-start.ts (the README example) seals, verifies, catches the flipped bit and verifies the audit log', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--conditions=@vramseal/source', '--import', 'tsx', 'examples/quick-start.ts'],
    { cwd: packageRoot, timeout: 60_000, env: { ...process.env, VRAMSEAL_WORKER_TOKEN: '' } },
  );
  const lines = stdout.split('\n').filter((line) => !line.startsWith('{'));
  expect(lines[0]).toMatch(
    /^sealed llama-3-8b-shard-0: 8388608 bytes on device 0, tree root [0-9a-f]{16}\.\.\.$/,
  );
  expect(lines[1]).toBe('verified: device memory matches the seal');
  expect(lines[2]).toBe(
    'verify failed: SEAL_VERIFICATION_FAILED (tree_root); manager state: stopped',
  );
  expect(lines[3]).toMatch(/^audit log: valid, \d+ events$/);
  const narration = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
  expect(narration.some((e) => e.action === 'verify_failed' && e.level === 'error')).toBe(true);
});
