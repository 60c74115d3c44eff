// The pack check: `pnpm -r pack` packs the workspace, the tarballs of the publishable packages are installed
// into an empty npm project (no workspace around them), and each package is imported there the way
// a consumer would. Then @vramseal/cli is installed alone, with only its dependencies' tarballs, into
// another empty project, and its `vramseal` bin seals, verifies and catches a changed file there.
// Each check is one JUnit test case in reports/junit/pack.xml.
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

// pnpm names a tarball after its package: @vramseal/seal-crypto@0.1.0 -> vramseal-seal-crypto-0.1.0.tgz
const tarballOf = (pkg) =>
  join(tarballs, `${pkg.name.replace('@', '').replace('/', '-')}-${pkg.version}.tgz`);
const emptyProject = (dir) =>
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );

let installed = false;
check('pnpm -r pack, then install every publishable package into an empty npm project', () => {
  run('pnpm', ['-r', 'pack', '--pack-destination', tarballs], root);
  emptyProject(consumer);
  const files = packages.map(tarballOf);
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...files], consumer);
  installed = true;
});

for (const pkg of packages) {
  check(`${pkg.name} imports without the workspace`, () => {
    if (!installed) throw new Error('not installed: see the pack and install case');
    const script = `const m = await import(${JSON.stringify(pkg.name)});
      if (Object.keys(m).length === 0) throw new Error('no exports');`;
    run('node', ['--input-type=module', '-e', script], consumer);
  });
}

// Beyond importing: each package does its job from its tarball (workers, native addon, bin).
const smokeTests = {
  'seal-crypto hashes and digests a tree on worker threads': `
    import { sha256Hex, treeDigest, treeDigestSync, shutdownTreeDigestPool } from '@vramseal/seal-crypto';
    const abc = sha256Hex(new TextEncoder().encode('abc'));
    if (abc !== 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad') throw new Error(abc);
    const data = new Uint8Array(24 << 20).map((_, i) => i * 31);
    const parallel = await treeDigest(data, { leafSize: 65536 });
    const single = treeDigestSync(data, { leafSize: 65536 });
    if (Buffer.compare(parallel.root, single.root) !== 0) throw new Error('worker digest differs');
    await shutdownTreeDigestPool();`,
  'cuda-ffi loads its prebuilt addon and digests on the mock like seal-crypto': `
    import { loadBackend } from '@vramseal/cuda-ffi';
    import { treeDigestSync } from '@vramseal/seal-crypto';
    const backend = loadBackend({ kind: 'mock', mock: { devices: [{ totalBytes: 8 << 20 }] } });
    const data = new Uint8Array(3_000_001).map((_, i) => i % 251);
    const shard = backend.allocate(0, data.length);
    shard.write(0, data);
    const root = await shard.treeDigest({ leafSize: 65536 });
    if (Buffer.compare(root, treeDigestSync(data, { leafSize: 65536 }).root) !== 0) throw new Error('roots differ');
    shard.free();`,
  'narration-core narrates JSON with secrets redacted': `
    import { createNarrator } from '@vramseal/narration-core';
    const lines = [];
    const narrator = createNarrator({ actor: 'pack-check', destination: { write: (l) => lines.push(l) } });
    narrator.info({ action: 'check', target: 'tarball', human: 'Checked with Authorization: Bearer abcdefghijklmnopqrstuvwxyz123456.' });
    const text = lines.join('');
    if (!text.includes('"action":"check"') || text.includes('abcdefghijklmnopqrstuvwxyz123456')) throw new Error(text);`,
  'audit-logging writes a log that its bin verifies (exit 0), and catches an edit (exit 1)': `
    import { execFileSync } from 'node:child_process';
    import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
    import { tmpdir } from 'node:os';
    import { join } from 'node:path';
    import { AuditLogger } from '@vramseal/audit-logging';
    import { deriveKey } from '@vramseal/seal-crypto';
    const dir = join(mkdtempSync(join(tmpdir(), 'pack-audit-')), 'audit');
    process.env.PACK_TOKEN = 'pack-check token: 7c1e9a4f0b2d6e83';
    const log = await AuditLogger.open({ dir, serviceId: 'pack', key: deriveKey(process.env.PACK_TOKEN, 'audit') });
    await log.emit({ type: 'pool_created', poolId: 'p1', actor: 'pack-check' });
    await log.emit({ type: 'vram_deallocated', shardId: 's1', gpuDevice: 0, vramBytes: 1, workerId: 'w1' });
    await log.close();
    const verify = () => { try { execFileSync('npx', ['--no-install', 'vramseal-audit', 'verify', dir, '--key-env', 'PACK_TOKEN'], { stdio: 'pipe' }); return 0; } catch (e) { return e.status; } };
    if (verify() !== 0) throw new Error('a fresh log did not verify');
    const segment = join(dir, readdirSync(dir).find((f) => f.startsWith('segment-')));
    writeFileSync(segment, readFileSync(segment, 'utf8').replace('"seq":1', '"seq":2'));
    if (verify() !== 1) throw new Error('an edited log was not reported as tampered (exit 1)');`,
  'vram-manager seals, verifies, catches a flipped bit, and its audit log verifies': `
    import { mkdtempSync } from 'node:fs';
    import { tmpdir } from 'node:os';
    import { join } from 'node:path';
    import { AuditLogger, verifyAuditLog } from '@vramseal/audit-logging';
    import { deriveKey, sha256Hex } from '@vramseal/seal-crypto';
    import { VramManager } from '@vramseal/vram-manager';
    const token = 'pack-check token: 4e8a1c9d2b7f0635';
    const dir = join(mkdtempSync(join(tmpdir(), 'pack-vram-')), 'audit');
    const audit = await AuditLogger.open({ dir, serviceId: 'pack', key: deriveKey(token, 'audit'), durability: 'hybrid' });
    const manager = await VramManager.create({ backend: 'mock', workerToken: token, workerId: 'pack', audit });
    const data = new Uint8Array(9_000_001).map((_, i) => i % 253);
    const shard = await manager.sealModel(data, { shardId: 'pack-0', expectedSha256: sha256Hex(data) });
    await manager.verifySealed(shard, { deep: true });
    manager.injectFault(shard, { offset: 8_000_000, xorMask: 4 });
    const failure = await manager.verifySealed(shard).then(() => null, (e) => e);
    if (failure?.code !== 'SEAL_VERIFICATION_FAILED' || manager.state !== 'stopped') throw new Error('tamper not caught');
    await manager.close();
    await audit.close();
    const report = await verifyAuditLog(dir, { key: deriveKey(token, 'audit') });
    if (!report.ok || report.events < 5) throw new Error(JSON.stringify(report));`,
};
for (const [name, script] of Object.entries(smokeTests)) {
  check(name, () => {
    if (!installed) throw new Error('not installed: see the pack and install case');
    run('node', ['--input-type=module', '-e', script], consumer);
  });
}

// bdd-world is used through Cucumber: run a scenario the way a consumer would, from plain
// JavaScript (no tsx), and check the proof bundle it writes, index formatter included.
check(
  'bdd-world runs a scenario from its tarball under Cucumber and writes the proof bundle',
  () => {
    if (!installed) throw new Error('not installed: see the pack and install case');
    const dir = join(consumer, 'bdd');
    mkdirSync(join(dir, 'support'), { recursive: true });
    writeFileSync(join(dir, 'support', 'steps.mjs'), "import '@vramseal/bdd-world/steps';\n");
    writeFileSync(
      join(dir, 'cucumber.mjs'),
      `import { proofBundleConfig } from '@vramseal/bdd-world';
const bundle = proofBundleConfig({ root: process.cwd() });
export default { paths: ['*.feature'], import: ['support/steps.mjs'], format: ['summary', ...bundle.format],
  worldParameters: bundle.worldParameters, tags: bundle.tags, strict: true };
`,
    );
    writeFileSync(
      join(dir, 'pack.feature'),
      `Feature: The packed bdd-world drives a VRAM manager
  Scenario: A flipped bit is caught, narrated and audited
    Given a VRAM manager on a mock GPU with 16 MiB
    When shard "pack-shard" of 300000 bytes is sealed
    And byte 12345 of shard "pack-shard" is flipped in device memory
    And shard "pack-shard" is verified
    Then the verification fails with check "tree_root"
    And the narration has a "verify_failed" event for shard "pack-shard"
    And the audit log has a "seal_verification_failed" event for shard "pack-shard"
`,
    );
    const cucumber = join(consumer, 'node_modules', '@cucumber', 'cucumber', 'bin', 'cucumber.js');
    execFileSync('node', [cucumber, '--config', 'cucumber.mjs'], {
      cwd: dir,
      stdio: 'pipe',
      env: {
        ...process.env,
        VRAMSEAL_RUN_ID: 'pack-check',
        VRAMSEAL_BACKEND: '',
        NODE_OPTIONS: '',
      },
    });
    const index = readFileSync(join(dir, '.proof_bundle', 'bdd', 'pack-check', 'index.md'), 'utf8');
    if (!index.includes('**PASSED**: 1 scenario in 1 feature')) throw new Error(index);
  },
);

/** A package and the workspace packages it depends on at run time, transitively. */
function withDependencies(name, seen = new Set()) {
  if (seen.has(name)) return seen;
  seen.add(name);
  const pkg = packages.find((p) => p.name === name);
  for (const dep of Object.keys(pkg?.dependencies ?? {})) {
    if (packages.some((p) => p.name === dep)) withDependencies(dep, seen);
  }
  return seen;
}

check(
  '@vramseal/cli installed alone with its dependencies: vramseal --version, seal, verify, a changed file, audit verify',
  () => {
    if (!installed) throw new Error('not packed: see the pack and install case');
    const alone = join(work, 'cli-alone');
    mkdirSync(alone);
    emptyProject(alone);
    const names = [...withDependencies('@vramseal/cli')];
    const files = names.map((name) => tarballOf(packages.find((p) => p.name === name)));
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...files], alone);
    const installedNames = readdirSync(join(alone, 'node_modules/@vramseal'));
    if (installedNames.includes('bdd-world')) throw new Error('bdd-world came along');
    const bin = join(alone, 'node_modules/.bin/vramseal');
    const cliVersion = packages.find((p) => p.name === '@vramseal/cli').version;
    const version = run(bin, ['--version'], alone).trim();
    if (version !== cliVersion) throw new Error(`vramseal --version printed ${version}`);
    const env = { ...process.env, VRAMSEAL_WORKER_TOKEN: 'pack-check token: 2d7b0e95c41a83f6' };
    const vramseal = (args) => {
      try {
        execFileSync(bin, args, { cwd: alone, env, stdio: 'pipe', encoding: 'utf8' });
        return 0;
      } catch (e) {
        return e.status;
      }
    };
    mkdirSync(join(alone, 'model'));
    writeFileSync(
      join(alone, 'model/a.bin'),
      new Uint8Array(3_000_001).map((_, i) => i % 251),
    );
    writeFileSync(
      join(alone, 'model/b.bin'),
      new Uint8Array(70_000).map((_, i) => i % 7),
    );
    const steps = [
      [['seal', 'model', '--backend', 'mock', '--audit-dir', 'audit'], 0],
      [['verify', 'vramseal-manifest.json', '--backend', 'mock', '--deep'], 0],
      [['audit', 'verify', 'audit'], 0],
    ];
    for (const [args, expected] of steps) {
      const code = vramseal(args);
      if (code !== expected)
        throw new Error(`vramseal ${args.join(' ')} exited ${code}, not ${expected}`);
    }
    writeFileSync(
      join(alone, 'model/b.bin'),
      new Uint8Array(70_000).map((_, i) => i % 5),
    );
    const tampered = vramseal(['verify', 'vramseal-manifest.json', '--backend', 'mock']);
    if (tampered !== 1) throw new Error(`verify of a changed file exited ${tampered}, not 1`);
  },
);

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
