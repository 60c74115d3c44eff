// Builds the addon twice (TOOLCHAIN.md, "Native addon, offline"):
//   build/      the default build: with CUDA when nvcc is found (5 architectures, static cudart)
//   build-cpu/  CPU-only: nvcc hidden from PATH and CUDACXX unset, as on a machine without CUDA
// Each runs `cmake-js configure` explicitly (a bare `cmake-js build` would reuse an old
// CMakeCache.txt and ignore new --CD values), then `cmake-js build`.
// Set VRAMSEAL_WITH_CUDA=OFF to make the default build CPU-only too.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cmakeJs = join(here, 'node_modules', '.bin', 'cmake-js');

/** PATH without any directory that holds nvcc, so CMake's check_language(CUDA) finds none. */
function pathWithoutNvcc(path) {
  return (path ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '' && !existsSync(join(dir, 'nvcc')))
    .join(delimiter);
}

function run(args, env) {
  const result = spawnSync(cmakeJs, args, { cwd: here, env, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`native build: cmake-js ${args.join(' ')} failed (exit ${result.status})`);
    process.exit(result.status ?? 1);
  }
}

function build(out, withCuda, env) {
  const started = Date.now();
  // The build folder remembers the compilers it found: start clean when the toolchain may differ.
  const cache = join(here, out, 'CMakeCache.txt');
  if (existsSync(cache)) rmSync(cache);
  const defines = [`--CDVRAMSEAL_WITH_CUDA=${withCuda ? 'ON' : 'OFF'}`];
  if (process.env.CUDAARCHS) defines.push(`--CDCMAKE_CUDA_ARCHITECTURES=${process.env.CUDAARCHS}`);
  run(['configure', '--out', out, '--config', 'Release', ...defines], env);
  run(['build', '--out', out, '--config', 'Release', '--parallel', '2'], env);
  console.log(`native build: ${out}/ done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const withCuda = process.env.VRAMSEAL_WITH_CUDA?.toUpperCase() !== 'OFF';
build('build', withCuda, process.env);

const cpuEnv = { ...process.env, PATH: pathWithoutNvcc(process.env.PATH) };
delete cpuEnv.CUDACXX;
build('build-cpu', true, cpuEnv);
