import { generateKeyPairSync } from 'node:crypto';
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AuditLogger } from '@vramseal/audit-logging';
import { deriveKey } from '@vramseal/seal-crypto';
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

describe('signed audit checkpoints: vramseal audit keygen, public-key, --signing-key', () => {
  it('keygen writes the private key (0600) and its public key, never over an existing file; public-key prints the same PEM', () => {
    const dir = tmp();
    const r = run(['audit', 'keygen', 'k.pem'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^signing key +k\.pem \(Ed25519, mode 0600, key [0-9a-f]{16}\)/m);
    expect(r.stdout).toContain('vramseal audit verify <dir> --public-key k.pem.pub');
    expect(statSync(path.join(dir, 'k.pem')).mode & 0o777).toBe(0o600);
    const pub = readFileSync(path.join(dir, 'k.pem.pub'), 'utf8');
    expect(pub).toMatch(
      /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=]+\n-----END PUBLIC KEY-----\n$/,
    );
    // The private key is printed nowhere.
    const pem = readFileSync(path.join(dir, 'k.pem'), 'utf8');
    const body = pem.split('\n')[1]!;
    expect(r.stdout + r.stderr).not.toContain(body);

    const printed = run(['audit', 'public-key', 'k.pem'], { cwd: dir });
    expect(printed.code).toBe(0);
    expect(printed.stdout).toBe(pub);
    expect(printed.stdout + printed.stderr).not.toContain(body);

    const again = run(['audit', 'keygen', 'k.pem'], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(
      'vramseal: k.pem exists already; a key is never overwritten: choose another path\n',
    );
    expect(readFileSync(path.join(dir, 'k.pem'), 'utf8')).toBe(pem);
  });

  it('--signing-key signs the checkpoints of seal and verify; audit verify --public-key passes on that log, fails with another key', () => {
    const dir = tmp();
    makeModel(path.join(dir, 'm'), [100_000, 30_000]);
    expect(run(['audit', 'keygen', 'k.pem'], { cwd: dir }).code).toBe(0);
    const seal = runWithToken(['seal', 'm', '--audit-dir', 'audit', '--signing-key', 'k.pem'], {
      cwd: dir,
    });
    expect(seal.code, seal.stderr).toBe(0);
    expect(seal.stdout).toMatch(/^audit +audit \(checkpoints signed by key [0-9a-f]{16}\)$/m);
    const verify = runWithToken(
      ['verify', 'vramseal-manifest.json', '--audit-dir', 'audit', '--signing-key', 'k.pem'],
      { cwd: dir },
    );
    expect(verify.code, verify.stderr).toBe(0);

    // An auditor with only the public key: no token in the environment.
    const audited = run(['audit', 'verify', 'audit', '--public-key', 'k.pem.pub'], { cwd: dir });
    expect(audited.code, audited.stdout + audited.stderr).toBe(0);
    expect(audited.stdout).toMatch(/^audit log audit: VALID$/m);
    expect(audited.stdout).toMatch(/checkpoint signatures yes/);
    const doc = JSON.parse(
      run(['audit', 'verify', 'audit', '--public-key', 'k.pem.pub', '--json'], { cwd: dir }).stdout,
    );
    expect(doc).toMatchObject({ ok: true, checked: { signatures: true } });
    expect(doc.checkpointsVerified).toBeGreaterThanOrEqual(2);

    expect(run(['audit', 'keygen', 'other.pem'], { cwd: dir }).code).toBe(0);
    const wrong = run(['audit', 'verify', 'audit', '--public-key', 'other.pem.pub'], { cwd: dir });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/^audit log audit: TAMPERED$/m);
  });

  it('without --signing-key the checkpoints are unsigned: audit verify --public-key fails on such a log (the documented limit)', () => {
    const audit = auditedRun();
    const dir = tmp();
    expect(run(['audit', 'keygen', 'k.pem'], { cwd: dir }).code).toBe(0);
    const r = run(['audit', 'verify', audit, '--public-key', path.join(dir, 'k.pem.pub')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/is not signed, but a public key was given/);
  });

  it('a log keeps one signing key: a signed log without --signing-key, an unsigned log with one, or another key is exit 2 and writes nothing', () => {
    const dir = tmp();
    makeModel(path.join(dir, 'm'), [10_000]);
    for (const k of ['k.pem', 'other.pem'])
      expect(run(['audit', 'keygen', k], { cwd: dir }).code).toBe(0);
    const seal = (...extra: string[]) => runWithToken(['seal', 'm', ...extra], { cwd: dir });
    expect(seal('--audit-dir', 'signed', '--signing-key', 'k.pem').code).toBe(0);
    expect(seal('--audit-dir', 'plain').code).toBe(0);
    const before = (log: string) => readFileSync(segment(path.join(dir, log)), 'utf8');
    const signed = before('signed');
    const plain = before('plain');

    const unsignedInSigned = seal('--audit-dir', 'signed');
    expect(unsignedInSigned.code).toBe(2);
    expect(unsignedInSigned.stderr).toBe(
      'vramseal: the audit log in signed has signed checkpoints; pass --signing-key <the key that signs them>, so the log stays verifiable with its public key\n',
    );
    const signedInPlain = seal('--audit-dir', 'plain', '--signing-key', 'k.pem');
    expect(signedInPlain.code).toBe(2);
    expect(signedInPlain.stderr).toMatch(
      /^vramseal: the audit log in plain has unsigned checkpoints, so `audit verify --public-key` could never pass on it; start a signed log in a new --audit-dir, or leave out --signing-key\n$/,
    );
    const otherKey = seal('--audit-dir', 'signed', '--signing-key', 'other.pem');
    expect(otherKey.code).toBe(2);
    expect(otherKey.stderr).toMatch(
      /^vramseal: the audit log in signed is signed by another key than --signing-key other\.pem \(key [0-9a-f]{16}\)/,
    );
    expect(before('signed')).toBe(signed);
    expect(before('plain')).toBe(plain);
    expect(run(['audit', 'verify', 'signed', '--public-key', 'k.pem.pub'], { cwd: dir }).code).toBe(
      0,
    );
  });

  it('bad signing keys are exit 2 with the fix: no --audit-dir, readable by others, not Ed25519, not a key', () => {
    const dir = tmp();
    makeModel(path.join(dir, 'm'), [10_000]);
    expect(run(['audit', 'keygen', 'k.pem'], { cwd: dir }).code).toBe(0);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    writeFileSync(
      path.join(dir, 'rsa.pem'),
      rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }),
      {
        mode: 0o600,
      },
    );
    writeFileSync(path.join(dir, 'loose.pem'), readFileSync(path.join(dir, 'k.pem')), {
      mode: 0o644,
    });
    writeFileSync(path.join(dir, 'junk.pem'), 'not a key\n', { mode: 0o600 });
    const cases: [string[], RegExp][] = [
      [
        ['--signing-key', 'k.pem'],
        /^vramseal: --signing-key signs the checkpoints of an audit log, and none was asked for; give --audit-dir <dir> too\n$/,
      ],
      [
        ['--audit-dir', 'a', '--signing-key', 'loose.pem'],
        /^vramseal: --signing-key loose\.pem is readable by group or others \(mode 644\); run `chmod 600 loose\.pem`\n$/,
      ],
      [
        ['--audit-dir', 'a', '--signing-key', 'rsa.pem'],
        /^vramseal: --signing-key rsa\.pem is an rsa key; checkpoints are signed with Ed25519: make one with `vramseal audit keygen <path>`\n$/,
      ],
      [
        ['--audit-dir', 'a', '--signing-key', 'junk.pem'],
        /^vramseal: --signing-key junk\.pem is not a private key in PEM; make one with `vramseal audit keygen <path>`\n$/,
      ],
      [
        ['--audit-dir', 'a', '--signing-key', 'none.pem'],
        /^vramseal: cannot read --signing-key none\.pem \(ENOENT\); check the path/,
      ],
    ];
    for (const [extra, message] of cases) {
      const r = runWithToken(['seal', 'm', ...extra], { cwd: dir });
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.stderr, extra.join(' ')).toMatch(message);
    }
    expect(readdirSync(dir)).not.toContain('vramseal-manifest.json');
    expect(readdirSync(dir)).not.toContain('a');
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

  it('reads a log still being written: the zeros its segment ends in are not a record', async () => {
    const audit = path.join(tmp(), 'audit');
    const key = deriveKey(TOKEN, 'audit');
    const log = await AuditLogger.open({ dir: audit, serviceId: 'tail-test', key });
    try {
      for (const poolId of ['p1', 'p2', 'p3']) {
        await log.emit({ type: 'pool_created', actor: 'tester', poolId });
      }
      expect(readFileSync(segment(audit)).includes(0)).toBe(true);
      const one = run(['audit', 'tail', audit, '-n', '1']);
      expect(one.stdout.trim().split('\n')).toEqual([
        expect.stringMatching(/: records 3-3 \(read, not verified/),
        expect.stringMatching(/^3 +\S+ +info +pool_created +actor=tester poolId=p3$/),
      ]);
      const records = JSON.parse(run(['audit', 'tail', audit, '--json']).stdout).records;
      expect(records.map((r: { seq: number }) => r.seq)).toEqual([1, 2, 3]);
    } finally {
      await log.close();
    }
  });

  it('after a crash that left a hole (zeros, then pieces of writes that never completed), shows the records before it', async () => {
    const audit = path.join(tmp(), 'audit');
    const log = await AuditLogger.open({
      dir: audit,
      serviceId: 'tail-test',
      key: deriveKey(TOKEN, 'audit'),
    });
    for (let i = 1; i <= 30; i++) {
      await log.emit({ type: 'pool_created', actor: 'tester', poolId: `p${i}` });
    }
    await log.close();
    // Past one 64 KiB read block, so the hole spans blocks; the leftover has lines of its own.
    const leftover = Buffer.from('{"auditId":"0f0f"}\n'.repeat(40));
    appendFileSync(
      segment(audit),
      Buffer.concat([Buffer.alloc(70_000), leftover, Buffer.alloc(9)]),
    );
    const records = JSON.parse(run(['audit', 'tail', audit, '--json', '-n', '5']).stdout).records;
    expect(records.map((r: { seq: number }) => r.seq)).toEqual([26, 27, 28, 29, 30]);
  });

  it('exit 2 for a directory without a log', () => {
    const r = run(['audit', 'tail', tmp()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/holds no audit log \(no segment-NNNNNN\.ndjson files\)/);
  });
});
