// Root `pnpm bench`: builds what the benchmarks need, runs every package's benchmark (`pnpm bench`
// in each package that has one) one after another with its output shown as it comes, then prints
// one table of every ratio the benchmarks printed against their named baselines: the same lines
// each package README records. Nothing is measured here; the figures are read from the output.
// Each benchmark's full output is also written to reports/bench/<package>.txt, and the machine's
// load to reports/bench/run.json; `node scripts/bench-table.mjs --from reports/bench` prints the
// table again from those files without running anything.
// Exit code: 1 when a benchmark failed, or printed no ratio this script can read.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { figuresOf } from './lib/bench-figures.mjs';

const root = resolve(import.meta.dirname, '..');

/** Packages with a bench script, in dependency order (the leaves first). */
const ORDER = ['seal-crypto', 'cuda-ffi', 'narration-core', 'audit-logging', 'vram-manager'];
const benches = readdirSync(join(root, 'packages'))
  .filter((dir) => existsSync(join(root, 'packages', dir, 'package.json')))
  .map((dir) => ({
    dir,
    pkg: JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'))),
  }))
  .filter(({ pkg }) => pkg.scripts?.bench)
  .sort((a, b) => rank(a.dir) - rank(b.dir) || a.dir.localeCompare(b.dir));
function rank(dir) {
  const i = ORDER.indexOf(dir);
  return i === -1 ? ORDER.length : i;
}

// --- running ------------------------------------------------------------------------------------

function runBench(dir) {
  return new Promise((resolvePromise) => {
    const child = spawn('pnpm', ['run', '--silent', 'bench'], {
      cwd: join(root, 'packages', dir),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
      process.stderr.write(chunk);
    });
    child.on('close', (code) => resolvePromise({ code, output }));
  });
}

const loadavg = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

const fromIndex = process.argv.indexOf('--from');
const from = fromIndex === -1 ? undefined : resolve(process.argv[fromIndex + 1] ?? 'reports/bench');
const outDir = join(root, 'reports/bench');
let run;
const results = [];
if (from !== undefined) {
  run = existsSync(join(from, 'run.json'))
    ? JSON.parse(readFileSync(join(from, 'run.json')))
    : null;
  for (const { dir } of benches) {
    const file = join(from, `${dir}.txt`);
    const output = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const bench = run?.benches?.find((b) => b.dir === dir);
    const code = existsSync(file) ? (bench?.code ?? 0) : 'no output file';
    const { rows, absolute } = code === 0 ? figuresOf(dir, output) : { rows: [], absolute: [] };
    results.push({ dir, code, rows, absolute, seconds: bench?.seconds ?? Number.NaN });
  }
} else {
  const loadBefore = loadavg();
  console.log('=== pnpm turbo run build (what the benchmarks load)');
  const build = spawnSync(
    'pnpm',
    [
      'turbo',
      'run',
      'build',
      '--output-logs=errors-only',
      ...benches.map(({ pkg }) => `--filter=${pkg.name}`),
    ],
    { cwd: root, stdio: 'inherit', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } },
  );
  if (build.status !== 0) {
    console.error('bench: the build failed; fix it before benchmarking');
    process.exit(1);
  }
  mkdirSync(outDir, { recursive: true });
  for (const { dir, pkg } of benches) {
    console.log(`\n=== ${pkg.name}: pnpm bench`);
    const started = Date.now();
    const { code, output } = await runBench(dir);
    writeFileSync(join(outDir, `${dir}.txt`), output);
    const { rows, absolute } = code === 0 ? figuresOf(dir, output) : { rows: [], absolute: [] };
    results.push({ dir, code, rows, absolute, seconds: (Date.now() - started) / 1000 });
  }
  run = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpu: (os.cpus()[0]?.model ?? 'unknown CPU').trim(),
    loadBefore,
    loadAfter: loadavg(),
    benches: results.map(({ dir, code, seconds }) => ({ dir, code, seconds })),
  };
  writeFileSync(join(outDir, 'run.json'), `${JSON.stringify(run, null, 2)}\n`);
}

// --- the table ----------------------------------------------------------------------------------

const header = {
  package: 'package',
  figure: 'figure',
  ratio: 'ratio',
  reads: 'ratio of',
  baseline: 'baseline (same run)',
  target: 'target',
  others: 'other CPU use',
};
const lines = [];
let failed = false;
for (const r of results) {
  if (r.code !== 0) {
    failed = true;
    lines.push({
      ...header,
      package: r.dir,
      figure: `benchmark FAILED (exit ${r.code})`,
      ratio: '-',
      reads: '',
      baseline: `see reports/bench/${r.dir}.txt`,
      target: '',
      others: '',
    });
  } else if (r.rows.length === 0) {
    failed = true;
    lines.push({
      ...header,
      package: r.dir,
      figure: 'no ratio found in its output',
      ratio: '-',
      reads: '',
      baseline: `see reports/bench/${r.dir}.txt`,
      target: '',
      others: '',
    });
  }
  for (const x of r.rows) lines.push({ package: r.dir, ...x });
}
const columns = ['package', 'figure', 'ratio', 'reads', 'baseline', 'target', 'others'];
const width = Object.fromEntries(
  columns.map((c) => [c, Math.max(header[c].length, ...lines.map((l) => l[c].length))]),
);
const format = (l) =>
  columns
    .map((c) => (c === 'ratio' ? l[c].padStart(width[c]) : l[c].padEnd(width[c])))
    .join('  ')
    .trimEnd();

console.log(
  '\n=== vramseal bench: every ratio against its baseline, measured side by side in the same run',
);
console.log(
  run
    ? `${run.date}, node ${run.node}, ${run.cpus} CPUs (${run.cpu}), load average ${run.loadBefore} before, ${run.loadAfter} after; ` +
        run.benches.map((b) => `${b.dir} ${b.seconds.toFixed(0)} s`).join(', ')
    : `read from ${from}: no run.json there, so the machine and its load are not known`,
);
console.log(
  'ratio of speed: > 1 is faster than the baseline; ratio of time: > 1 costs more than the baseline;\n' +
    'other CPU use: what other processes took during that section (read from /proc/stat by the bench;\n' +
    'blank where the bench does not print it): ratios mean little when it is far above 0%\n',
);
console.log(format(header));
console.log(columns.map((c) => '-'.repeat(width[c])).join('  '));
for (const l of lines) console.log(format(l));
const absolute = results.flatMap((r) => r.absolute.map((a) => `  ${r.dir}: ${a}`));
if (absolute.length > 0) {
  console.log('\nalso printed, as rates without a baseline:');
  for (const a of absolute) console.log(a);
}
console.log(`\nfull outputs: ${from ?? 'reports/bench'}/<package>.txt`);
process.exit(failed ? 1 : 0);
