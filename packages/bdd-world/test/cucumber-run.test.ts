import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

// Cucumber itself runs here, as a consumer would run it: a subprocess with the fixture config.
const run = promisify(execFile);
const fixtures = join(import.meta.dirname, 'fixtures');
const cucumber = join(
  import.meta.dirname,
  '..',
  'node_modules',
  '@cucumber',
  'cucumber',
  'bin',
  'cucumber.js',
);
const made: string[] = [];

afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

async function cucumberRun(
  feature: string,
  runId: string,
  extraImports: string[] = [],
  extraEnv: Record<string, string> = {},
) {
  const proofDir = mkdtempSync(join(tmpdir(), 'bdd-world-proof-'));
  // The scenarios' own temp folders (audit logs, weight files) go here, to be counted afterwards.
  const scenarioTmp = mkdtempSync(join(tmpdir(), 'bdd-world-tmp-'));
  made.push(proofDir, scenarioTmp);
  const args = [
    cucumber,
    '--config',
    'cucumber.mjs',
    ...extraImports.flatMap((f) => ['--import', f]),
  ];
  const env = {
    ...process.env,
    NODE_OPTIONS: '--conditions=@vramseal/source --import=tsx',
    FIXTURE_FEATURE: feature,
    VRAMSEAL_RUN_ID: runId,
    VRAMSEAL_PROOF_DIR: proofDir,
    VRAMSEAL_BACKEND: '',
    TMPDIR: scenarioTmp,
    ...extraEnv,
  };
  try {
    const { stdout } = await run(process.execPath, args, { cwd: fixtures, env });
    return { code: 0, stdout, bundle: join(proofDir, 'bdd', runId), scenarioTmp };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return {
      code: e.code,
      stdout: e.stdout + e.stderr,
      bundle: join(proofDir, 'bdd', runId),
      scenarioTmp,
    };
  }
}

describe('a Cucumber run with the proof bundle', () => {
  it('writes messages, HTML, JUnit, per-scenario evidence and an index a person can read', async () => {
    const { code, stdout, bundle, scenarioTmp } = await cucumberRun('proof.feature', 'run-proof-1');
    expect(code, stdout).toBe(0);
    // Every scenario's audit log folder was removed by the After hook.
    expect(readdirSync(scenarioTmp).filter((name) => name.startsWith('vramseal-bdd-'))).toEqual([]);
    expect(readdirSync(bundle).sort()).toEqual([
      'index.md',
      'junit.xml',
      'messages.ndjson',
      'report.html',
      'scenarios',
    ]);
    const messages = readFileSync(join(bundle, 'messages.ndjson'), 'utf8').trim().split('\n');
    expect(messages.every((line) => JSON.parse(line))).toBe(true);
    expect(readFileSync(join(bundle, 'junit.xml'), 'utf8')).toMatch(/<testsuite[^>]*tests="3"/);

    // One evidence folder per scenario and per example row, named by its line.
    const folders = readdirSync(join(bundle, 'scenarios', 'proof')).sort();
    expect(folders).toEqual([
      '0004-a-shard-is-sealed-and-verified',
      '0020-a-tampered-byte-at-0-is-caught',
      '0021-a-tampered-byte-at-69999-is-caught',
    ]);
    const story = readFileSync(
      join(bundle, 'scenarios', 'proof', folders[0]!, 'narration.txt'),
      'utf8',
    );
    expect(story).toMatch(
      /^info vram-residency verify fixture-shard: Verified shard fixture-shard/m,
    );
    const audit = JSON.parse(
      readFileSync(
        join(bundle, 'scenarios', 'proof', folders[1]!, 'audit-verification.json'),
        'utf8',
      ),
    );
    expect(audit).toMatchObject({ ok: true, checked: { macs: true, signatures: true } });
    expect(audit.events).toBeGreaterThanOrEqual(4);

    const index = readFileSync(join(bundle, 'index.md'), 'utf8');
    expect(index).toContain('# BDD proof bundle `run-proof-1`');
    expect(index).toContain('**PASSED**: 3 scenarios in 1 feature, 3 passed, 0 not passed.');
    expect(index).toContain('Backend: **mock**');
    // allocated, sealed, verified, and deallocated when the After hook closed the manager
    expect(index).toMatch(
      /\| 4 \| A shard is sealed and verified \| passed \| \d+ \| \d+ \/ 1 \| verifies, 4 events \|/,
    );
    expect(index).toContain(`[story](scenarios/proof/${folders[0]}/narration.txt)`);
    expect(index).toMatch(
      /## Not run in this run\n\n- `proof.feature:24` Only on a GPU: tagged @gpu/,
    );
  });

  it('fails a passing scenario that asserts nothing about its narration, and the index says why', async () => {
    const { code, stdout, bundle } = await cucumberRun('no-narration.feature', 'run-quiet');
    expect(code).toBe(1);
    expect(stdout).toContain('asserts nothing about its narration');
    const index = readFileSync(join(bundle, 'index.md'), 'utf8');
    expect(index).toContain('**FAILED**: 1 scenario in 1 feature, 0 passed, 1 not passed.');
    expect(index).toContain('asserts nothing about its narration');
  });

  it('fails a scenario whose audit log no longer verifies, unless a step said it tampered on purpose', async () => {
    const { code, stdout, bundle } = await cucumberRun('tampered-audit.feature', 'run-edited', [
      'editor-steps.ts',
    ]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/audit log does not verify: mac_mismatch at record 1/);
    expect(existsSync(join(bundle, 'index.md'))).toBe(true);
  });

  it('counts a skipped @gpu scenario as skipped, not failed, when the run does not filter it', async () => {
    const { code, stdout, bundle } = await cucumberRun('proof.feature', 'run-skip', [], {
      FIXTURE_ALL_TAGS: '1',
    });
    expect(code, stdout).toBe(0);
    const index = readFileSync(join(bundle, 'index.md'), 'utf8');
    expect(index).toContain(
      '**PASSED**: 4 scenarios in 1 feature, 3 passed, 0 not passed, 1 skipped.',
    );
    expect(index).not.toContain('## Not passed');
  });

  it('fails a Then that would read the outcome of an earlier action, not the last one', async () => {
    const { code, stdout } = await cucumberRun('stale-outcome.feature', 'run-stale');
    expect(code).toBe(1);
    expect(stdout).toContain('the last When step attempted no operation');
  });

  it('refuses a run id that could name another folder', async () => {
    const { code, stdout } = await cucumberRun('proof.feature', '../escape');
    expect(code).not.toBe(0);
    expect(stdout).toContain('VRAMSEAL_RUN_ID must be 1-128 of A-Z a-z 0-9 . _ -');
  });
});
