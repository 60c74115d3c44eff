import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { CliError, EXIT_CODES, type ExitCode } from '../errors.js';
import { generateSigningKey, publicKeyOf } from '../key/signing-key.js';
import { TOKEN_ENV } from '../key/worker-key.js';
import type { Terminal } from '../terminal/terminal.js';

/**
 * The audit tools are @vramseal/audit-logging's one bin (`vramseal-audit`): `vramseal audit` runs
 * it, so the verifier and its report exist once. Found through the package's public package.json.
 */
export function auditBinPath(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('@vramseal/audit-logging/package.json');
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: Record<string, string> };
  const bin = pkg.bin?.['vramseal-audit'];
  if (bin === undefined) {
    throw new CliError(
      'COMMAND_FAILED',
      'the installed @vramseal/audit-logging has no vramseal-audit bin; install the version @vramseal/cli depends on',
    );
  }
  return path.resolve(path.dirname(manifest), bin);
}

export interface AuditVerifyOptions {
  keyFile?: string;
  keyEnv?: string;
  publicKey?: string;
  checkpoint?: string;
}

/** The audit key, as the bin takes it: a key file, or the variable that holds the token. */
function keyArgs(options: { keyFile?: string; keyEnv?: string }, env: NodeJS.ProcessEnv): string[] {
  if (options.keyFile !== undefined) return ['--key-file', options.keyFile];
  if (options.keyEnv !== undefined) return ['--key-env', options.keyEnv];
  return env[TOKEN_ENV] ? ['--key-env', TOKEN_ENV] : [];
}

/**
 * Runs the audit tool with `args` and copies its output to this command's streams. Colour follows
 * this terminal's decision (the child writes into a pipe, so it is told).
 */
export function runAuditTool(
  term: Terminal,
  args: string[],
  env: NodeJS.ProcessEnv = term.io.env,
): ExitCode {
  const childEnv: NodeJS.ProcessEnv = { ...env };
  delete childEnv.NO_COLOR;
  delete childEnv.FORCE_COLOR;
  if (term.colour) childEnv.FORCE_COLOR = '1';
  else childEnv.NO_COLOR = '1';
  const child = spawnSync(process.execPath, [auditBinPath(), ...args], {
    env: childEnv,
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.error !== undefined || child.status === null) {
    throw new CliError(
      'COMMAND_FAILED',
      `the audit tool did not run (${child.error?.message ?? `signal ${child.signal}`}); reinstall @vramseal/audit-logging`,
    );
  }
  term.io.stdout.write(child.stdout);
  term.io.stderr.write(child.stderr);
  const code = child.status;
  return code === 0 || code === 1 ? code : EXIT_CODES.error;
}

export function auditVerifyCommand(
  term: Terminal,
  dir: string,
  options: AuditVerifyOptions,
): ExitCode {
  const args = ['verify', dir, ...keyArgs(options, term.io.env)];
  if (options.publicKey !== undefined) args.push('--public-key', options.publicKey);
  if (options.checkpoint !== undefined) args.push('--checkpoint', options.checkpoint);
  if (term.json) args.push('--json');
  return runAuditTool(term, args);
}

export function auditTailCommand(
  term: Terminal,
  dir: string,
  options: { lines: number },
): ExitCode {
  const args = ['tail', dir, '--lines', String(options.lines)];
  if (term.json) args.push('--json');
  return runAuditTool(term, args);
}

/** `vramseal audit keygen <path>`: a new checkpoint signing key and its public key. */
export function auditKeygenCommand(
  term: Terminal,
  file: string,
  options: { publicKey?: string },
): ExitCode {
  const publicFile = options.publicKey ?? `${file}.pub`;
  const { id, publicPem } = generateSigningKey(file, publicFile);
  term.document({
    ok: true,
    signingKey: path.resolve(file),
    publicKey: path.resolve(publicFile),
    keyId: id,
    publicKeyPem: publicPem,
  });
  term.line(`signing key  ${file} (Ed25519, mode 0600, key ${id}): pass it as --signing-key`);
  term.line(`public key   ${publicFile}: give it to auditors for --public-key`);
  term.line();
  term.line('Keep the signing key apart from the worker token (off the worker where you can):');
  term.line('whoever holds both can rewrite a log and sign it again.');
  term.line(`Check a log: vramseal audit verify <dir> --public-key ${publicFile}`);
  return EXIT_CODES.ok;
}

/** `vramseal audit public-key <path>`: the SPKI PEM of a signing key, on stdout. */
export function auditPublicKeyCommand(term: Terminal, file: string): ExitCode {
  const { id, publicPem } = publicKeyOf(file);
  term.document({ ok: true, keyId: id, publicKeyPem: publicPem });
  if (!term.json) term.io.stdout.write(publicPem);
  return EXIT_CODES.ok;
}
