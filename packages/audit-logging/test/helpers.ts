import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  type AuditEvent,
  AuditLogger,
  type AuditLoggerOptions,
  EVENT_SCHEMAS,
  type FieldKind,
  type LoggedEventType,
} from '@vramseal/audit-logging';
import { deriveKey } from '@vramseal/seal-crypto';

export const TOKEN = 'test-worker-token-7f3a9c2e51b84d06a1e9';
export const auditKey = deriveKey(TOKEN, 'audit');
export const checkpointKeys = generateKeyPairSync('ed25519');

const made: string[] = [];

/** A fresh directory under os.tmpdir(); removed by `cleanupTmp`. */
export function tmpLogDir(): string {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'vramseal-audit-'));
  made.push(base);
  return path.join(base, 'log');
}

export function cleanupTmp(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export function openLogger(
  dir: string,
  options: Partial<AuditLoggerOptions> = {},
): Promise<AuditLogger> {
  return AuditLogger.open({
    dir,
    serviceId: 'worker-a',
    key: auditKey,
    signingKey: checkpointKeys.privateKey,
    ...options,
  });
}

function sampleValue(kind: FieldKind, n: number): unknown {
  if (typeof kind !== 'string') return kind[0];
  switch (kind) {
    case 'text':
      return `value-${n}`;
    case 'name':
      return `name-${n}`;
    case 'uint':
      return n;
    case 'bool':
      return true;
    case 'sha256':
      return 'ab'.repeat(32);
    case 'fingerprint':
      return 'sha256:0123456789abcdef';
  }
}

/** A valid event of `type` built from its schema (required fields only). */
export function sampleEvent(type: LoggedEventType, n = 1): AuditEvent {
  const event: Record<string, unknown> = { type };
  for (const [field, kind] of Object.entries(
    EVENT_SCHEMAS[type].required as Record<string, FieldKind>,
  )) {
    event[field] = sampleValue(kind, n);
  }
  return event as AuditEvent;
}

export type SealedEvent = Extract<AuditEvent, { type: 'vram_sealed' }>;

export function sealedEvent(n: number): SealedEvent {
  return {
    type: 'vram_sealed',
    shardId: `shard-${n}`,
    gpuDevice: 0,
    vramBytes: 1024 * n,
    digest: 'cd'.repeat(32),
    workerId: 'worker-a',
  };
}

export function segmentPath(dir: string, index = 1): string {
  return path.join(dir, `segment-${String(index).padStart(6, '0')}.ndjson`);
}

/**
 * The lines of a log file as any reader should take them: a segment being written ends in the
 * zeros the writer preallocates, so its records end at the first NUL (README, "Files").
 */
export function readLines(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const end = text.indexOf('\0');
  return (end === -1 ? text : text.slice(0, end)).split('\n').filter((l) => l.length > 0);
}

/** Where a segment's records end: its first NUL (the preallocated zeros start there), else its end. */
export function recordsEnd(data: Buffer): number {
  const zero = data.indexOf(0);
  return zero === -1 ? data.length : zero;
}

export function writeLines(file: string, lines: string[]): void {
  fs.writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
}
