import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hasStack, run, tmp } from './helpers.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

describe('vramseal: help, version and bad arguments', () => {
  it('--version prints the package version, exit 0', () => {
    const r = run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('--help lists every command and the exit codes, exit 0', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    for (const command of ['devices', 'seal', 'verify', 'audit', 'demo']) {
      expect(r.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
    expect(r.stdout).toContain('Exit codes: 0 ok, 1 mismatch');
  });

  it('every command has --help with its own options', () => {
    const expectations: [string[], string[]][] = [
      [['devices'], ['--backend']],
      [
        ['seal'],
        ['--device', '--key-file', '--audit-dir', '--signing-key', '--expect-sha256', '--manifest'],
      ],
      [['verify'], ['--deep', '--key-file', '--backend', '--signing-key']],
      [
        ['audit', 'verify'],
        ['--key-file', '--public-key', '--checkpoint'],
      ],
      [['audit', 'tail'], ['--lines']],
      [['audit', 'keygen'], ['--public-key']],
      [['audit', 'public-key'], ['<path>']],
      [['demo'], ['--shards', '--shard-mib', '--keep']],
    ];
    for (const [command, options] of expectations) {
      const r = run([...command, '--help']);
      expect(r.code, command.join(' ')).toBe(0);
      expect(r.stdout).toContain(`Usage: vramseal ${command.join(' ')}`);
      for (const option of options) expect(r.stdout, `${command} ${option}`).toContain(option);
      expect(r.stdout).toContain('--json'); // the global options are shown too
    }
  });

  it('an unknown command is exit 2 with one line naming it and the fix', () => {
    const r = run(['sael', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^vramseal: unknown command 'sael'.*seal.*; run `vramseal --help` for the usage\n$/,
    );
    expect(r.stdout).toBe('');
  });

  it('an unknown option, a missing argument and bad values are exit 2, one line each', () => {
    const cases: [string[], RegExp][] = [
      [['seal', 'x', '--no-such-flag'], /unknown option '--no-such-flag'.*`vramseal seal --help`/],
      [['verify'], /missing required argument 'manifest'.*`vramseal verify --help`/],
      [['seal'], /missing required argument 'path'/],
      [['seal', 'x', '--device', 'gpu0'], /--device.*invalid.*device index/],
      [['devices', '--backend', 'opencl'], /--backend.*opencl.*invalid.*auto, cuda, mock/],
      [['audit', 'tail', 'x', '-n', '0'], /--lines.*whole number from 1/],
      [['demo', '--shards', 'many'], /--shards.*whole number/],
    ];
    for (const [args, message] of cases) {
      const r = run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(hasStack(r.stderr)).toBe(false);
    }
  });

  it('a failing command prints no stack trace, unless --verbose', () => {
    const missing = `${tmp()}/nope.json`;
    const plain = run(['verify', missing]);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(
      /^vramseal: cannot read the manifest .*nope\.json \(ENOENT\); check the path/,
    );
    expect(hasStack(plain.stderr)).toBe(false);
    const verbose = run(['verify', missing, '--verbose']);
    expect(verbose.code).toBe(2);
    expect(hasStack(verbose.stderr)).toBe(true);
  });

  it('--json errors are one JSON document on stdout with the code, and still exit 2', () => {
    const r = run(['verify', `${tmp()}/nope.json`, '--json']);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: false, exitCode: 2, error: { code: 'UNREADABLE_INPUT' } });
    expect(doc.error.message).toContain('nope.json');
  });
});
