import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The tests run what a user runs: `dist/bin.js`, with the dependencies' `dist/` (no source
 * condition). So this package is compiled afresh here, and the workspace packages it imports must
 * have been built (`pnpm build`; turbo's test task builds them first).
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const packages = fileURLToPath(new URL('../..', import.meta.url));
  for (const dep of [
    'seal-crypto',
    'cuda-ffi',
    'narration-core',
    'audit-logging',
    'vram-manager',
  ]) {
    if (!existsSync(`${packages}/${dep}/dist/index.js`)) {
      throw new Error(`@vramseal/${dep} has no dist/: run \`pnpm build\` before these tests`);
    }
  }
  rmSync(`${root}/dist`, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}
