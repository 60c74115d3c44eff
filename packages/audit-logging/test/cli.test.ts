import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkpointKeys,
  cleanupTmp,
  openLogger,
  readLines,
  sealedEvent,
  segmentPath,
  TOKEN,
  tmpLogDir,
  writeLines,
} from './helpers.js';

afterEach(cleanupTmp);

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(
    process.execPath,
    ['--conditions=@vramseal/source', '--import', 'tsx', cli, ...args],
    {
      cwd: packageRoot,
      encoding: 'utf8',
      env: { ...process.env, ...env },
    },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function makeLog(): Promise<string> {
  const dir = tmpLogDir();
  const log = await openLogger(dir, { checkpointEvery: 3 });
  for (let i = 1; i <= 7; i++) await log.emit(sealedEvent(i));
  await log.close();
  return dir;
}

describe('audit-logging verify (CLI)', () => {
  it('exit 0 and a readable report for a valid log; checks MACs with --key-env and signatures with --public-key', async () => {
    const dir = await makeLog();
    const pem = path.join(path.dirname(dir), 'checkpoint.pub.pem');
    fs.writeFileSync(pem, checkpointKeys.publicKey.export({ type: 'spki', format: 'pem' }));
    const r = run(['verify', dir, '--key-env', 'AUDIT_TOKEN', '--public-key', pem], {
      AUDIT_TOKEN: TOKEN,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('VALID');
    expect(r.stdout).toMatch(/events:\s+7 in 1 segment/);
    expect(r.stdout).toMatch(/record MACs yes, checkpoint signatures yes/);
    expect(r.stdout).not.toContain(TOKEN);
  });

  it('exit 1 with the reason and first bad seq for a tampered log', async () => {
    const dir = await makeLog();
    const lines = readLines(segmentPath(dir));
    lines.splice(4, 1);
    writeLines(segmentPath(dir), lines);
    const r = run(['verify', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('TAMPERED');
    expect(r.stdout).toMatch(/reason:\s+seq_gap/);
    expect(r.stdout).toMatch(/first bad:\s+seq 5/);
  });

  it('a forged line cannot drive the terminal: control and bidi characters are printed escaped', async () => {
    const dir = await makeLog();
    const lines = readLines(segmentPath(dir));
    // JSON escapes for ESC and RLO, and a raw C1 CSI (legal unescaped in JSON): keys that the
    // report quotes when it says which fields the line has.
    // U+3164 (a Hangul filler) is invisible too: the package's one definition escapes it.
    lines.splice(2, 1, '{"\\u001b[2J\\u202e":1,"\u009b31m":2,"id\u3164":3}');
    writeLines(segmentPath(dir), lines);
    for (const args of [[], ['--json']]) {
      const r = run(['verify', dir, ...args]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/malformed_record/);
      expect(r.stdout).toContain('\\u001b[2J\\u202e');
      expect(r.stdout).toContain('id\\u3164');
      for (const raw of ['\u001b', '\u009b', '\u202e', '\u3164'])
        expect(r.stdout).not.toContain(raw);
    }
  });

  it('--json prints the VerifyReport', async () => {
    const dir = await makeLog();
    const r = run(['verify', dir, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, events: 7, firstBadSeq: null });
  });

  it('exit 2 for an unreadable directory, a directory without a log, and bad usage', async () => {
    const missing = run(['verify', path.join(tmpLogDir(), 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/AUDIT_UNREADABLE/);
    const empty = tmpLogDir();
    fs.mkdirSync(empty, { recursive: true });
    expect(run(['verify', empty]).code).toBe(2);
    expect(run(['frobnicate']).code).toBe(2);
    expect(run(['verify', empty, '--no-such-flag']).code).toBe(2);
    const unsetEnv = run(['verify', await makeLog(), '--key-env', 'VRAMSEAL_TEST_UNSET_VAR']);
    expect(unsetEnv.code).toBe(2);
    expect(unsetEnv.stderr).toMatch(/VRAMSEAL_TEST_UNSET_VAR/);
  });
});
