// The pack check: every publishable package is packed with `pnpm pack`, all tarballs are installed
// into an empty npm project (no workspace around them), and each package is imported there the way
// a consumer would. Each package is one JUnit test case in reports/junit/pack.xml.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const packagesDir = join(root, 'packages');
const work = mkdtempSync(join(tmpdir(), 'vramseal-pack-'));
const tarballs = join(work, 'tarballs');
const consumer = join(work, 'consumer');
mkdirSync(tarballs);
mkdirSync(consumer);

const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

const packages = readdirSync(packagesDir)
  .map((dir) => JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8')))
  .filter((pkg) => !pkg.private);

const cases = [];
function check(name, fn) {
  const started = Date.now();
  try {
    fn();
    cases.push({ name, seconds: (Date.now() - started) / 1000 });
    console.log(`ok   ${name}`);
  } catch (error) {
    const message = `${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`;
    cases.push({ name, seconds: (Date.now() - started) / 1000, failure: message });
    console.log(`FAIL ${name}\n${message}`);
  }
}

let installed = false;
check('pack and install every package into an empty npm project', () => {
  for (const pkg of packages) {
    run(
      'pnpm',
      ['pack', '--pack-destination', tarballs],
      join(packagesDir, pkg.name.split('/')[1]),
    );
  }
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  const files = readdirSync(tarballs).map((f) => join(tarballs, f));
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...files], consumer);
  installed = true;
});

for (const pkg of packages) {
  check(`${pkg.name} imports without the workspace`, () => {
    if (!installed) throw new Error('not installed: see the pack and install case');
    const script = `const m = await import(${JSON.stringify(pkg.name)});
      const names = Object.keys(m);
      if (names.length === 0) throw new Error('no exports');
      console.log(names.length + ' exports');`;
    run('node', ['--input-type=module', '-e', script], consumer);
  });
}

const xmlEscape = (s) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const failures = cases.filter((c) => c.failure).length;
const xml = [
  '<?xml version="1.0" encoding="UTF-8"?>',
  `<testsuites><testsuite name="pack-check" tests="${cases.length}" failures="${failures}">`,
  ...cases.map(
    (c) =>
      `<testcase classname="pack-check" name="${xmlEscape(c.name)}" time="${c.seconds}">${
        c.failure ? `<failure message="failed">${xmlEscape(c.failure)}</failure>` : ''
      }</testcase>`,
  ),
  '</testsuite></testsuites>',
].join('\n');
mkdirSync(join(root, 'reports/junit'), { recursive: true });
writeFileSync(join(root, 'reports/junit/pack.xml'), `${xml}\n`);
rmSync(work, { recursive: true, force: true });
process.exit(failures ? 1 : 0);
