// pnpm test:gpu / pnpm bench:gpu: stages the built packages into a temporary folder laid out as
// an installed project (stage.mjs) and runs the check there with this same `node`, exactly as it
// runs on a bare GPU box from .gpu/ (cuda/README.md, "GPU checks on a bare box").
//
//   node scripts/gpu/run.mjs test  [--require-device] [--junit <file>] [--rehearse]
//   node scripts/gpu/run.mjs bench [--json <file>]
//   node scripts/gpu/run.mjs sanitize
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stage } from './stage.mjs';

const CHECKS = { test: 'test.mjs', bench: 'bench.mjs', sanitize: 'sanitize.mjs' };
const [which, ...rest] = process.argv.slice(2);
if (!(which in CHECKS)) {
  console.error('usage: node scripts/gpu/run.mjs test|bench|sanitize [options]');
  process.exit(2);
}
// Paths among the options are the caller's: make them absolute before the cwd changes.
const args = rest.map((arg, i) =>
  ['--junit', '--json'].includes(rest[i - 1]) ? resolve(arg) : arg,
);
const dir = mkdtempSync(join(tmpdir(), 'vramseal-gpu-stage-'));
let status = 1;
try {
  const { out } = await stage(join(dir, 'app'));
  const run = spawnSync(process.execPath, [join(out, 'checks', CHECKS[which]), ...args], {
    cwd: out,
    stdio: 'inherit',
  });
  status = run.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(status);
