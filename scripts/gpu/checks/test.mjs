// test:gpu: cuda-ffi's and vram-manager's key behaviours against the cuda backend, run by Node's
// built-in test runner (node:test), so a bare GPU box needs nothing but `node` and the stage.
//
//   node checks/test.mjs [--require-device] [--junit <file>] [--rehearse]
//
// Exit codes (cuda/README.md): 0 every test passed, or there is no CUDA device (it prints
// "no CUDA device: <reason>" and "NOT RUN": nothing was tested, which is not a pass);
// 1 a test failed, or the stage itself is broken; 77 no CUDA device and --require-device was
// given (what the GPU box's run.sh passes, so a box whose GPU did not answer cannot look green).
// --rehearse runs the same tests on the mock dressed as a GPU (device.mjs): it checks the
// checks on a machine without a GPU and proves nothing about one.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const EXIT_NO_DEVICE = 77;

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const requireDevice = args.includes('--require-device');
const junitAt = args.indexOf('--junit');
const junit = junitAt >= 0 ? args[junitAt + 1] : undefined;
if (args.includes('--rehearse')) process.env.VRAMSEAL_GPU_REHEARSAL = '1';
const { describeDevice, probeCuda, REHEARSAL } = await import('./device.mjs');

const probe = probeCuda();
if (!probe.ok) {
  console.log(`test:gpu: no CUDA device: ${probe.reason}`);
  // The stage must still be whole, so that a GPU box gets a working one: every package imports
  // and the addon loads (on the mock backend).
  const { loadBackend } = await import('@vramseal/cuda-ffi');
  await import('@vramseal/seal-crypto');
  await import('@vramseal/vram-manager');
  const mock = loadBackend({ kind: 'mock' });
  console.log(
    `test:gpu: stage check passed (packages import; the addon, ${mock.backendInfo().builtWithCuda ? 'built with CUDA' : 'built without CUDA'}, loads on the mock)`,
  );
  console.log(
    'test:gpu: NOT RUN: 0 GPU tests ran (this is not a pass; run it where a GPU answers)',
  );
  process.exit(requireDevice ? EXIT_NO_DEVICE : 0);
}

console.log(`test:gpu: ${describeDevice(probe.backend)}`);
const files = readdirSync(join(here, 'tests'))
  .filter((f) => f.endsWith('.test.mjs'))
  .sort()
  .map((f) => join(here, 'tests', f));
const reporters = ['--test-reporter=spec', '--test-reporter-destination=stdout'];
if (junit !== undefined)
  reporters.push('--test-reporter=junit', `--test-reporter-destination=${junit}`);
const run = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=1', '--test-timeout=300000', ...reporters, ...files],
  { stdio: 'inherit' },
);
if (REHEARSAL)
  console.log('test:gpu: that was a REHEARSAL on the mock: it checked the checks, not a GPU');
process.exit(run.status ?? 1);
