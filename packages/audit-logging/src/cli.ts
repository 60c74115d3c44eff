#!/usr/bin/env node
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, styleText } from 'node:util';
import { deriveKey, loadKeyFile, type SecretKey } from '@vramseal/seal-crypto';
import { AuditError, AuditUnreadableError, errnoCode } from './errors.js';
import { isKnownEventType, severityOf } from './events/schema.js';
import { UNSAFE_CHAR_CLASS } from './events/validate.js';
import { listSegments, MAX_LINE_BYTES } from './storage/layout.js';
import { type VerifyOptions, type VerifyReport, verifyAuditLog } from './verify/verify-log.js';

/** Exit codes: the contract scripts and CI jobs rely on. */
const EXIT_VALID = 0;
const EXIT_TAMPERED = 1;
const EXIT_UNREADABLE = 2;

/**
 * The project's audit command is `vramseal audit` (@vramseal/cli), which runs this file: the bin
 * `vramseal-audit` of @vramseal/audit-logging. Without the CLI: `npx @vramseal/audit-logging ...`.
 */
const USAGE = `usage: vramseal audit verify <dir> [options]
       vramseal audit tail <dir> [--lines <n>] [--json]
(without @vramseal/cli: npx @vramseal/audit-logging verify|tail <dir> ...)

verify: checks a vramseal audit log offline: record chain, MACs, Merkle checkpoints, segment manifest.
tail:   prints the newest records, one line each (read, not verified: run verify for that).

options:
  --key-file <path>     32-byte audit key material (64 hex chars or raw, mode 0600); checks every MAC
  --key-env <VAR>       derive the audit key from the token in environment variable VAR
  --public-key <path>   Ed25519 public key (SPKI PEM, or 64 hex chars) that signs checkpoints
  --checkpoint <path>   a checkpoint kept outside the log (JSON); the log must still contain it
  -n, --lines <n>       tail: how many records (default 20)
  --json                print the report (verify) or the records (tail) as JSON
  -h, --help            show this help

exit codes: 0 valid (tail: printed), 1 tampered (or torn), 2 unreadable or bad usage
colour: on a terminal only; NO_COLOR turns it off, FORCE_COLOR on`;

class UsageError extends Error {}

/**
 * A tampered log is attacker-written text, and parts of it reach the report (a forged field name,
 * a manifest's segment name). Control, format (bidi, zero-width) and separator characters are
 * printed as \uXXXX escapes (the package's one definition of an unsafe character), so no line of the log can drive the terminal (ANSI/C1 sequences) or
 * hide text in the report. Valid inside JSON strings too; newlines between report lines stay.
 */
const UNPRINTABLE = new RegExp(`(?!\\n)[${UNSAFE_CHAR_CLASS}]`, 'gu');

function printable(text: string): string {
  return text.replace(UNPRINTABLE, (ch) => {
    let escaped = ''; // one \uXXXX per UTF-16 unit, so astral characters stay valid JSON
    for (let i = 0; i < ch.length; i++) {
      escaped += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
    }
    return escaped;
  });
}

type Style = Parameters<typeof styleText>[0];
type Paint = (style: Style, text: string) => string;

/**
 * Colour for a person at a terminal only: never with NO_COLOR (https://no-color.org), on a dumb
 * terminal or into a pipe, unless FORCE_COLOR asks for it. Applied after `printable`, so the only
 * escape sequences in the output are the ones added here.
 */
function painter(json: boolean): Paint {
  const env = process.env;
  const force = env.FORCE_COLOR !== undefined && !['', '0', 'false'].includes(env.FORCE_COLOR);
  const on =
    !json &&
    !(env.NO_COLOR !== undefined && env.NO_COLOR !== '') &&
    (force || (process.stdout.isTTY === true && env.TERM !== 'dumb'));
  return on ? (style, text) => styleText(style, text) : (_style, text) => text;
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

function render(dir: string, report: VerifyReport, paint: Paint): string {
  const out: string[] = [];
  const cp = report.latestCheckpoint;
  const head = `audit log ${printable(dir)}: `;
  if (report.ok) {
    out.push(head + paint(['green', 'bold'], 'VALID'));
    out.push(`  events:      ${report.events} in ${report.segments} segment(s)`);
  } else {
    const torn = report.reason === 'torn_tail';
    out.push(
      head +
        (torn
          ? paint(['yellow', 'bold'], 'TORN (unrepaired crash)')
          : paint(['red', 'bold'], 'TAMPERED')),
    );
    out.push(`  reason:      ${printable(`${report.reason}: ${report.detail}`)}`);
    if (report.firstBadSeq !== null) out.push(`  first bad:   seq ${report.firstBadSeq}`);
    if (report.file !== null) out.push(`  file:        ${printable(report.file)}`);
    out.push(`  verified:    ${report.events} event(s) before the problem`);
  }
  out.push(
    `  checkpoints: ${report.checkpointsVerified} verified` +
      (cp
        ? printable(`; latest covers ${cp.treeSize} event(s), root ${cp.root}, taken ${cp.time}`)
        : ''),
  );
  out.push(
    `  checked:     record MACs ${report.checked.macs ? 'yes' : 'no (no key)'}, checkpoint signatures ${report.checked.signatures ? 'yes' : 'no (no public key)'}`,
  );
  for (const warning of report.warnings) {
    out.push(`  ${paint('yellow', 'warning:')}     ${printable(warning)}`);
  }
  return out.join('\n');
}

async function verifyCommand(dir: string, values: ParsedValues): Promise<number> {
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
    values.json
      ? printable(`${JSON.stringify(report, null, 2)}\n`)
      : `${render(dir, report, painter(false))}\n`,
  );
  return report.ok ? EXIT_VALID : EXIT_TAMPERED;
}

/**
 * The last `count` lines of a segment, read backwards in blocks (a segment can hold millions). The
 * segment being written ends in preallocated zeros (README, "Preallocation") and its records end
 * at the first NUL: each block read starts over from the first NUL in it.
 */
function lastLines(file: string, count: number): string[] {
  const fd = openSync(file, 'r');
  try {
    let position = fstatSync(fd).size;
    const blocks: Buffer[] = [];
    let newlines = 0;
    let bytes = 0;
    // count + 1 newlines bound the last `count` lines; the line cap bounds a file without any.
    while (position > 0 && newlines <= count && bytes <= (count + 1) * MAX_LINE_BYTES) {
      const size = Math.min(65_536, position);
      position -= size;
      let block = Buffer.alloc(size);
      readSync(fd, block, 0, size, position);
      const zero = block.indexOf(0);
      if (zero !== -1) {
        // The records end at the first NUL: what follows it (read so far) is a crash's leftover
        // of writes that never completed, so start over from there.
        block = block.subarray(0, zero);
        blocks.length = 0;
        newlines = 0;
        bytes = 0;
      }
      for (const byte of block) if (byte === 0x0a) newlines++;
      blocks.unshift(block);
      bytes += block.length;
    }
    const lines = Buffer.concat(blocks).toString('utf8').split('\n');
    if (position > 0) lines.shift(); // the first piece may be the end of an earlier line
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-count);
  } finally {
    closeSync(fd);
  }
}

interface TailRecord {
  seq: number;
  ts: string;
  serviceId: string;
  severity: string;
  type: string;
  event: Record<string, unknown>;
}

/** A line as tail shows it: the record's parts, or null for a line that is not record-shaped. */
function parseRecord(line: string): TailRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  const r = value as Record<string, unknown> | null;
  const event = r?.event as Record<string, unknown> | undefined;
  if (
    typeof r?.seq !== 'number' ||
    typeof r.ts !== 'string' ||
    typeof r.serviceId !== 'string' ||
    typeof event !== 'object' ||
    event === null ||
    typeof event.type !== 'string'
  ) {
    return null;
  }
  const type = event.type;
  const severity = isKnownEventType(type) ? severityOf(type) : 'unknown';
  return { seq: r.seq, ts: r.ts, serviceId: r.serviceId, severity, type, event };
}

const SEVERITY_STYLE: Record<string, Style> = {
  critical: ['red', 'bold'],
  warning: 'yellow',
  info: 'green',
  unknown: 'magenta',
};

/** `key=value` for every field but the type; digests shortened (verify --json has them whole). */
function fieldsText(event: Record<string, unknown>): string {
  return Object.entries(event)
    .filter(([k]) => k !== 'type')
    .map(([k, v]) => {
      const text = typeof v === 'string' ? v : JSON.stringify(v);
      return `${k}=${/^[0-9a-f]{64}$/.test(text) ? `${text.slice(0, 12)}…` : text}`;
    })
    .join(' ');
}

function tailCommand(dir: string, values: ParsedValues): number {
  const count = Number(values.lines ?? '20');
  if (!Number.isSafeInteger(count) || count < 1 || count > 100_000) {
    throw new UsageError('--lines must be a whole number from 1 to 100000');
  }
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new AuditUnreadableError(
      `cannot read the log directory ${dir} (${errnoCode(error) ?? 'unknown error'}); check the path and its permissions`,
      error,
    );
  }
  const segments = listSegments(names);
  if (segments.length === 0) {
    throw new AuditUnreadableError(
      `${dir} holds no audit log (no segment-NNNNNN.ndjson files); name the directory the logger writes`,
    );
  }
  let lines: string[] = [];
  for (let i = segments.length - 1; i >= 0 && lines.length < count; i--) {
    lines = [...lastLines(path.join(dir, segments[i]!.name), count - lines.length), ...lines];
  }
  const records = lines.map((line) => ({ line, record: parseRecord(line) }));
  if (values.json) {
    const out = records.map(({ line, record }) => record ?? { malformed: true, line });
    process.stdout.write(printable(`${JSON.stringify({ dir, records: out }, null, 2)}\n`));
    return EXIT_VALID;
  }
  const paint = painter(false);
  const parsed = records.flatMap(({ record }) => (record ? [record] : []));
  const range =
    parsed.length > 0 ? `records ${parsed[0]!.seq}-${parsed.at(-1)!.seq}` : 'no readable records';
  const out = [
    `audit log ${printable(dir)}: ${range} (read, not verified: \`vramseal audit verify\` checks them)`,
  ];
  const seqWidth = Math.max(...parsed.map((r) => String(r.seq).length), 1);
  for (const { line, record } of records) {
    if (record === null) {
      out.push(
        `${'?'.padStart(seqWidth)}  ${paint('magenta', 'not a record:')} ${printable(line.slice(0, 200))}`,
      );
      continue;
    }
    out.push(
      [
        paint('dim', String(record.seq).padStart(seqWidth)),
        printable(record.ts),
        paint(SEVERITY_STYLE[record.severity] ?? 'white', record.severity.padEnd(8)),
        paint('bold', printable(record.type).padEnd(26)),
        printable(fieldsText(record.event)),
      ].join('  '),
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return EXIT_VALID;
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`vramseal audit: ${(error as Error).message}\n\n${USAGE}\n`);
    return EXIT_UNREADABLE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT_VALID;
  }
  const [command, dir, ...rest] = positionals;
  if ((command !== 'verify' && command !== 'tail') || dir === undefined || rest.length > 0) {
    process.stderr.write(
      `vramseal audit: expected \`verify <dir>\` or \`tail <dir>\`\n\n${USAGE}\n`,
    );
    return EXIT_UNREADABLE;
  }
  try {
    return command === 'verify' ? await verifyCommand(dir, values) : tailCommand(dir, values);
  } catch (error) {
    const code =
      error instanceof AuditError || (error as { code?: unknown }).code
        ? ` [${String((error as { code?: unknown }).code)}]`
        : '';
    process.stderr.write(
      printable(`vramseal audit: cannot ${command} ${dir}${code}: ${(error as Error).message}\n`),
    );
    return EXIT_UNREADABLE;
  }
}

type ParsedValues = ReturnType<typeof parse>['values'];

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'key-file': { type: 'string' },
      'key-env': { type: 'string' },
      'public-key': { type: 'string' },
      checkpoint: { type: 'string' },
      lines: { type: 'string', short: 'n' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

process.exitCode = await main(process.argv.slice(2));
