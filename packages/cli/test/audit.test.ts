import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeModel, run, runWithToken, TOKEN, tmp } from './helpers.js';

const ESC = '\u001b[';

/** A log written by a real seal and verify: `dir/audit`. */
function auditedRun(): string {
  const dir = tmp();
  makeModel(path.join(dir, 'm'), [100_000, 30_000]);
  expect(runWithToken(['seal', 'm', '--audit-dir', 'audit'], { cwd: dir }).code).toBe(0);
  expect(
    runWithToken(['verify', 'vramseal-manifest.json', '--audit-dir', 'audit'], { cwd: dir }).code,
  ).toBe(0);
  return path.join(dir, 'audit');
}

function segment(audit: string): string {
  return path.join(audit, readdirSync(audit).find((f) => f.startsWith('segment-'))!);
}

describe('vramseal audit verify', () => {
  it('exit 0 for the log seal and verify wrote; MACs checked with the token from VRAMSEAL_WORKER_TOKEN', () => {
    const audit = auditedRun();
    const r = runWithToken(['audit', 'verify', audit]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^audit log .*: VALID$/m);
    expect(r.stdout).toMatch(/record MACs yes/);
    expect(r.stdout).not.toContain(TOKEN);
    const noKey = run(['audit', 'verify', audit]);
    expect(noKey.code).toBe(0);
    expect(noKey.stdout).toMatch(/record MACs no \(no key\)/);
  });

  it('--json is the VerifyReport; an edited record is exit 1 with the reason and the record', () => {
    const audit = auditedRun();
    const good = JSON.parse(runWithToken(['audit', 'verify', audit, '--json']).stdout);
    expect(good).toMatchObject({ ok: true, firstBadSeq: null, checked: { macs: true } });
    expect(good.events).toBeGreaterThan(8);

    const lines = readFileSync(segment(audit), 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes('"type":"vram_sealed"'));
    lines[i] = lines[i]!.replace(/"vramBytes":(\d+)/, '"vramBytes":1');
    writeFileSync(segment(audit), lines.join('\n'));
    const r = runWithToken(['audit', 'verify', audit]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^audit log .*: TAMPERED$/m);
    expect(r.stdout).toMatch(new RegExp(`first bad: +seq ${i + 1}$`, 'm'));
    const doc = JSON.parse(runWithToken(['audit', 'verify', audit, '--json']).stdout);
    expect(doc).toMatchObject({ ok: false, reason: 'mac_mismatch', firstBadSeq: i + 1 });
  });

  it('exit 2 for a directory that is not a log, and for a wrong key source', () => {
    const r = run(['audit', 'verify', path.join(tmp(), 'nope')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^vramseal audit: cannot verify .*nope \[AUDIT_UNREADABLE\]/);
    const unset = run(['audit', 'verify', tmp(), '--key-env', 'VRAMSEAL_TEST_UNSET']);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('VRAMSEAL_TEST_UNSET');
  });

  it('colour only on request: FORCE_COLOR paints the verdict, NO_COLOR and pipes do not', () => {
    const audit = auditedRun();
    expect(runWithToken(['audit', 'verify', audit]).stdout).not.toContain(ESC);
    const forced = runWithToken(['audit', 'verify', audit], { env: { FORCE_COLOR: '1' } });
    expect(forced.stdout).toContain(`${ESC}32m`); // green VALID
    const both = runWithToken(['audit', 'verify', audit], {
      env: { FORCE_COLOR: '1', NO_COLOR: '1' },
    });
    expect(both.stdout).not.toContain(ESC);
    expect(
      runWithToken(['audit', 'verify', audit, '--no-color'], { env: { FORCE_COLOR: '1' } }).stdout,
    ).not.toContain(ESC);
  });
});

describe('vramseal audit tail', () => {
  it('prints the newest records one line each: seq, time, severity, type, fields', () => {
    const audit = auditedRun();
    const all = JSON.parse(run(['audit', 'tail', audit, '--json', '-n', '1000']).stdout).records;
    const r = run(['audit', 'tail', audit, '-n', '3']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(
      new RegExp(`^audit log .*: records ${all.length - 2}-${all.length} \\(read, not verified`),
    );
    expect(lines[3]).toMatch(
      new RegExp(
        `^${all.length} +\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z +info +vram_deallocated +gpuDevice=0 shardId=\\S+ vramBytes=\\d+ workerId=\\S+$`,
      ),
    );
    expect(run(['audit', 'tail', audit]).stdout.trim().split('\n')).toHaveLength(
      Math.min(20, all.length) + 1,
    );
  });

  it('--json gives whole records with their severity; critical events are painted red on request', () => {
    const dir = tmp();
    const [file] = makeModel(path.join(dir, 'm'), [10_000]);
    runWithToken(['seal', 'm', '--audit-dir', 'audit'], { cwd: dir });
    writeFileSync(file!, 'changed');
    runWithToken(['verify', 'vramseal-manifest.json', '--audit-dir', 'audit'], { cwd: dir });
    const records = JSON.parse(
      run(['audit', 'tail', 'audit', '--json'], { cwd: dir }).stdout,
    ).records;
    // the size differs, so verify reports it without a re-seal; the seal's records are there
    expect(records[0]).toMatchObject({ seq: 1, severity: 'info', type: 'vram_allocated' });
    expect(
      records.every((r: { event: { type: string }; type: string }) => r.event.type === r.type),
    ).toBe(true);

    writeFileSync(file!, Buffer.alloc(10_000));
    runWithToken(['verify', 'vramseal-manifest.json', '--audit-dir', 'audit'], { cwd: dir });
    const painted = run(['audit', 'tail', 'audit'], { cwd: dir, env: { FORCE_COLOR: '1' } }).stdout;
    expect(painted).toContain(`${ESC}31m${ESC}1mcritical`);
    expect(run(['audit', 'tail', 'audit'], { cwd: dir }).stdout).toMatch(
      / critical +integrity_violation +/,
    );
  });

  it('a line that is not a record is shown as such, with control characters escaped', () => {
    const audit = auditedRun();
    const file = segment(audit);
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"not":"a record \u001b[2J"}\n`);
    const r = run(['audit', 'tail', audit, '-n', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ *\? +not a record: \{"not":"a record \\u001b\[2J"\}$/m);
    expect(r.stdout).not.toContain(ESC.slice(0, 1));
  });

  it('exit 2 for a directory without a log', () => {
    const r = run(['audit', 'tail', tmp()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/holds no audit log \(no segment-NNNNNN\.ndjson files\)/);
  });
});
