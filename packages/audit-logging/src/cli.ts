#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { deriveKey, loadKeyFile, type SecretKey } from '@vramseal/seal-crypto';
import { AuditError } from './errors.js';
import { type VerifyOptions, type VerifyReport, verifyAuditLog } from './verify/verify-log.js';

/** Exit codes: the contract scripts and CI jobs rely on. */
const EXIT_VALID = 0;
const EXIT_TAMPERED = 1;
const EXIT_UNREADABLE = 2;

const USAGE = `usage: audit-logging verify <dir> [options]

Verifies a vramseal audit log offline: record chain, MACs, Merkle checkpoints, segment manifest.

options:
  --key-file <path>     32-byte audit key material (64 hex chars or raw, mode 0600); checks every MAC
  --key-env <VAR>       derive the audit key from the token in environment variable VAR
  --public-key <path>   Ed25519 public key (SPKI PEM, or 64 hex chars) that signs checkpoints
  --checkpoint <path>   a checkpoint kept outside the log (JSON); the log must still contain it
  --json                print the report as JSON
  -h, --help            show this help

exit codes: 0 valid, 1 tampered (or torn), 2 unreadable or bad usage`;

class UsageError extends Error {}

/**
 * A tampered log is attacker-written text, and parts of it reach the report (a forged field name,
 * a manifest's segment name). Control, format (bidi, zero-width) and separator characters are
 * printed as \uXXXX escapes, so no line of the log can drive the terminal (ANSI/C1 sequences) or
 * hide text in the report. Valid inside JSON strings too; newlines between report lines stay.
 */
const UNPRINTABLE = /(?!\n)[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;

function printable(text: string): string {
  return text.replace(UNPRINTABLE, (ch) => {
    let escaped = ''; // one \uXXXX per UTF-16 unit, so astral characters stay valid JSON
    for (let i = 0; i < ch.length; i++) {
      escaped += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
    }
    return escaped;
  });
}

function readKey(values: { 'key-file'?: string; 'key-env'?: string }): SecretKey | undefined {
  if (values['key-file'] !== undefined && values['key-env'] !== undefined) {
    throw new UsageError('give either --key-file or --key-env, not both');
  }
  if (values['key-file'] !== undefined) return loadKeyFile(values['key-file'], 'audit');
  if (values['key-env'] !== undefined) {
    const token = process.env[values['key-env']];
    if (!token)
      throw new UsageError(`environment variable ${values['key-env']} is empty or not set`);
    return deriveKey(token, 'audit');
  }
  return undefined;
}

function readPublicKey(file: string | undefined): string | Uint8Array | undefined {
  if (file === undefined) return undefined;
  const text = readFileSync(file, 'utf8').trim();
  return /^[0-9a-fA-F]{64}$/.test(text) ? new Uint8Array(Buffer.from(text, 'hex')) : text;
}

function render(dir: string, report: VerifyReport): string {
  const out: string[] = [];
  const cp = report.latestCheckpoint;
  if (report.ok) {
    out.push(`audit log ${dir}: VALID`);
    out.push(`  events:      ${report.events} in ${report.segments} segment(s)`);
  } else {
    out.push(
      `audit log ${dir}: ${report.reason === 'torn_tail' ? 'TORN (unrepaired crash)' : 'TAMPERED'}`,
    );
    out.push(`  reason:      ${report.reason}: ${report.detail}`);
    if (report.firstBadSeq !== null) out.push(`  first bad:   seq ${report.firstBadSeq}`);
    if (report.file !== null) out.push(`  file:        ${report.file}`);
    out.push(`  verified:    ${report.events} event(s) before the problem`);
  }
  out.push(
    `  checkpoints: ${report.checkpointsVerified} verified` +
      (cp ? `; latest covers ${cp.treeSize} event(s), root ${cp.root}, taken ${cp.time}` : ''),
  );
  out.push(
    `  checked:     record MACs ${report.checked.macs ? 'yes' : 'no (no key)'}, checkpoint signatures ${report.checked.signatures ? 'yes' : 'no (no public key)'}`,
  );
  for (const warning of report.warnings) out.push(`  warning:     ${warning}`);
  return out.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`audit-logging: ${(error as Error).message}\n\n${USAGE}\n`);
    return EXIT_UNREADABLE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT_VALID;
  }
  const [command, dir, ...rest] = positionals;
  if (command !== 'verify' || dir === undefined || rest.length > 0) {
    process.stderr.write(`audit-logging: expected \`verify <dir>\`\n\n${USAGE}\n`);
    return EXIT_UNREADABLE;
  }
  try {
    const key = readKey(values);
    const publicKey = readPublicKey(values['public-key']);
    const trustedCheckpoint =
      values.checkpoint === undefined ? undefined : readFileSync(values.checkpoint, 'utf8').trim();
    const options: VerifyOptions = {
      ...(key ? { key } : {}),
      ...(publicKey ? { publicKey } : {}),
      ...(trustedCheckpoint ? { trustedCheckpoint } : {}),
    };
    const report = await verifyAuditLog(dir, options);
    process.stdout.write(
      printable(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${render(dir, report)}\n`),
    );
    return report.ok ? EXIT_VALID : EXIT_TAMPERED;
  } catch (error) {
    const code =
      error instanceof AuditError || (error as { code?: unknown }).code
        ? ` [${String((error as { code?: unknown }).code)}]`
        : '';
    process.stderr.write(
      printable(`audit-logging: cannot verify ${dir}${code}: ${(error as Error).message}\n`),
    );
    return EXIT_UNREADABLE;
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'key-file': { type: 'string' },
      'key-env': { type: 'string' },
      'public-key': { type: 'string' },
      checkpoint: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

process.exitCode = await main(process.argv.slice(2));
