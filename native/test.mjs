// Builds and runs the C++ core tests twice under ctest, one ctest test per TEST_CASE:
//   build-tests/  the default toolchain (CUDA when nvcc is found)
//   build-asan/   CPU-only, -fsanitize=address,undefined -fno-sanitize-recover (core + tests;
//                 the .node addon itself cannot load ASan into node easily)
// JUnit reports go to /work/main/reports/junit/ (ctest-native.xml, ctest-native-asan.xml), which
// CI counts. Exits non-zero if any build or test fails.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const reports = resolve(here, '../reports/junit');

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: here, stdio: 'inherit', ...options });
  return result.status ?? 1;
}

function buildAndTest({ dir, defines, junit, env }) {
  const configure = run(
    'cmake',
    ['-S', '.', '-B', dir, '-G', 'Ninja', '-DVRAMSEAL_BUILD_TESTS=ON', ...defines],
    { env },
  );
  if (configure !== 0) return configure;
  const build = run('cmake', ['--build', dir, '--parallel', '2'], { env });
  if (build !== 0) return build;
  return run(
    'ctest',
    ['--test-dir', dir, '--output-on-failure', '--output-junit', join(reports, junit)],
    { env },
  );
}

mkdirSync(reports, { recursive: true });
const failures = [
  buildAndTest({
    dir: 'build-tests',
    defines: ['-DCMAKE_BUILD_TYPE=Release'],
    junit: 'ctest-native.xml',
    env: process.env,
  }),
  buildAndTest({
    dir: 'build-asan',
    defines: ['-DCMAKE_BUILD_TYPE=Debug', '-DVRAMSEAL_WITH_CUDA=OFF', '-DVRAMSEAL_SANITIZE=ON'],
    junit: 'ctest-native-asan.xml',
    env: {
      ...process.env,
      ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1:strict_string_checks=1',
      UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
    },
  }),
].filter((status) => status !== 0);
if (failures.length > 0) {
  console.error('native tests: FAILED');
  process.exit(1);
}
console.log('native tests: all passed (ctest + ASan/UBSan)');
