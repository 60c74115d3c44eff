// Copies the addon built by @vramseal/native (native/build/Release/*.node) into
// prebuilds/<platform>-<arch>[-<libc>]/ (the name the loader looks for: dist/native/platform.js,
// so this runs after tsc), which `files` in package.json ships in the packed tarball.
//
// The copy goes to a temporary file in the same folder and is then renamed over the old one: a
// new inode, swapped in atomically. Copying over the old file in place would rewrite pages that
// running processes (another test run) have mapped, and they would die with SIGBUS.
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prebuildTag } from '../dist/native/platform.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(packageRoot, '..', '..', 'native', 'build', 'Release');
const tag = prebuildTag();
const target = join(packageRoot, 'prebuilds', tag);

const addons = existsSync(built) ? readdirSync(built).filter((f) => f.endsWith('.node')) : [];
if (addons.length === 0) {
  console.error(
    `cuda-ffi build: no .node file in ${built}; build the addon first: pnpm --filter @vramseal/native build`,
  );
  process.exit(1);
}
mkdirSync(target, { recursive: true });
for (const file of addons) {
  const temporary = join(target, `.${file}.${process.pid}.tmp`);
  try {
    copyFileSync(join(built, file), temporary);
    renameSync(temporary, join(target, file));
  } finally {
    rmSync(temporary, { force: true });
  }
  console.log(`cuda-ffi build: copied ${file} -> prebuilds/${tag}/`);
}
