// Stages what the GPU checks need to run with nothing but a `node` binary: a folder laid out as
// an installed project, so every bare import resolves by Node's own rules and no npm, pnpm or
// resolve hook is needed where it runs (cuda/README.md, "GPU checks on a bare box").
//
//   <out>/node_modules/@vramseal/<name>/   package.json + dist/ (+ cuda-ffi's prebuilds/<tag>/)
//   <out>/node_modules/<dependency>/       the packages' runtime dependencies, copied whole
//   <out>/checks/                          scripts/gpu/checks/: test.mjs, bench.mjs, sanitize.mjs
//   <out>/STAGE.json                       what was staged, from which commit, when
//
// Usage: node scripts/gpu/stage.mjs [out]   (default .gpu/app; run `pnpm build` first)
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The workspace packages the checks import, with everything they depend on. */
const ENTRY_PACKAGES = ['@vramseal/cuda-ffi', '@vramseal/seal-crypto', '@vramseal/vram-manager'];

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** name -> folder of every workspace package (packages/<dir>/package.json). */
function workspacePackages() {
  const out = new Map();
  for (const dir of readdirSync(join(root, 'packages'))) {
    const manifest = join(root, 'packages', dir, 'package.json');
    if (existsSync(manifest)) out.set(readJson(manifest).name, join(root, 'packages', dir));
  }
  return out;
}

/** Node's lookup: the nearest node_modules/<name> at or above `from`, by real path. */
function findDependency(name, from) {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(candidate)) return realpathSync(dirname(candidate));
    if (dirname(dir) === dir) return undefined;
  }
}

function fail(message) {
  console.error(`gpu stage: ${message}`);
  process.exit(1);
}

/** Stages into `out` (emptied first) and returns a summary. */
export async function stage(out) {
  const target = resolve(out);
  if (existsSync(target) && readdirSync(target).length > 0) {
    // Only ever empty a folder this script made: never a path typed by mistake.
    if (!existsSync(join(target, 'STAGE.json'))) {
      fail(`${target} is not empty and holds no STAGE.json: refusing to replace it`);
    }
    rmSync(target, { recursive: true, force: true });
  }
  mkdirSync(join(target, 'node_modules'), { recursive: true });

  const workspace = workspacePackages();
  const { prebuildTag } = await import(
    pathToFileURL(join(workspace.get('@vramseal/cuda-ffi'), 'dist', 'native', 'platform.js')).href
  ).catch(() => fail('packages/cuda-ffi/dist is missing: run `pnpm build` first'));
  const tag = prebuildTag();

  /** real path -> staged folder; name -> real path that holds node_modules/<name> at the top. */
  const staged = new Map();
  const topLevel = new Map();
  const copied = [];

  const place = (name, source, dependentStaged) => {
    const claimed = topLevel.get(name);
    if (claimed === undefined) {
      topLevel.set(name, source);
      return join(target, 'node_modules', name);
    }
    // Another version of the same name is already at the top: nest this one under its dependent.
    return join(dependentStaged, 'node_modules', name);
  };

  const visit = (name, source, dependentStaged) => {
    if (staged.has(source)) return;
    const manifest = readJson(join(source, 'package.json'));
    const into = place(name, source, dependentStaged);
    staged.set(source, into);
    if (workspace.has(name)) {
      const dist = join(source, 'dist');
      if (!existsSync(join(dist, 'index.js')))
        fail(`${name} has no dist/index.js: run \`pnpm build\` first`);
      mkdirSync(into, { recursive: true });
      cpSync(join(source, 'package.json'), join(into, 'package.json'));
      cpSync(dist, join(into, 'dist'), { recursive: true });
      if (name === '@vramseal/cuda-ffi') {
        const prebuild = join(source, 'prebuilds', tag);
        if (!existsSync(join(prebuild, 'vramseal_native.node'))) {
          fail(
            `no addon at ${relative(root, prebuild)}: run \`pnpm build\` (it builds native/ and copies it there)`,
          );
        }
        cpSync(prebuild, join(into, 'prebuilds', tag), { recursive: true });
      }
    } else {
      cpSync(source, into, {
        recursive: true,
        filter: (path) => !relative(source, path).split('/').includes('node_modules'),
      });
    }
    copied.push({ name, version: manifest.version, from: relative(root, source) });
    const needs = { ...manifest.dependencies, ...manifest.optionalDependencies };
    for (const dependency of Object.keys(needs)) {
      const found = findDependency(dependency, source);
      if (found === undefined) {
        if (manifest.optionalDependencies?.[dependency] !== undefined) continue;
        fail(`${name} needs ${dependency}, which is not installed: run \`pnpm install\``);
      }
      visit(dependency, found, into);
    }
  };

  for (const name of ENTRY_PACKAGES) visit(name, realpathSync(workspace.get(name)), target);
  cpSync(join(root, 'scripts', 'gpu', 'checks'), join(target, 'checks'), { recursive: true });

  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: root,
      encoding: 'utf8',
    });
    if (dirty.trim() !== '') commit += ' (with uncommitted changes)';
  } catch {
    // not a git checkout: the summary says unknown
  }
  const summary = {
    stagedAt: new Date().toISOString(),
    commit,
    stagedWith: process.version,
    prebuild: tag,
    packages: copied.sort((a, b) => a.name.localeCompare(b.name)),
  };
  writeFileSync(join(target, 'STAGE.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return { out: target, ...summary };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const summary = await stage(process.argv[2] ?? join(root, '.gpu', 'app'));
  console.log(
    `gpu stage: ${relative(process.cwd(), summary.out) || '.'}: ${summary.packages.length} packages (${summary.packages
      .map((p) => p.name)
      .join(', ')}), addon prebuilds/${summary.prebuild}, commit ${summary.commit}`,
  );
}
