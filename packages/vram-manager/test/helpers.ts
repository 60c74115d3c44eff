import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  type AuditLogger,
  AuditLogger as AuditLoggerClass,
  type Durability,
  verifyAuditLog,
} from '@vramseal/audit-logging';
import { type Backend, loadBackend } from '@vramseal/cuda-ffi';
import { createNarrator, type NarrationEvent } from '@vramseal/narration-core';
import { deriveKey } from '@vramseal/seal-crypto';
import {
  type VramManager,
  VramManager as VramManagerClass,
  type VramManagerOptions,
} from '@vramseal/vram-manager';
import { expect } from 'vitest';

export const TOKEN = 'test-worker-token-5b1e8c07d94f2a63b0c7';
export const auditKey = deriveKey(TOKEN, 'audit');
export const sealKey = deriveKey(TOKEN, 'seal');
export const attestationKeys = generateKeyPairSync('ed25519');
export const MiB = 1024 * 1024;

/** The fields of a SealedShard, exactly as issue and README name them (toJSON gives these). */
export const SEALED_SHARD_FIELDS = [
  'digest',
  'gpuDevice',
  'keyId',
  'leafSize',
  'modelRef',
  'sealedAt',
  'shardId',
  'shardIndex',
  'totalShards',
  'treeRoot',
  'vramBytes',
];

/**
 * The backend the suite runs against: the mock by default, the GPU when VRAMSEAL_BACKEND=cuda
 * (then a device must answer, or the suite fails loudly rather than pretending).
 */
export const BACKEND_KIND: 'cuda' | 'mock' =
  process.env.VRAMSEAL_BACKEND === 'cuda' ? 'cuda' : 'mock';

/** A backend with `devices` of `bytes` each (mock), or the real GPU(s). */
export function testBackend(devices: number[] = [256 * MiB]): Backend {
  if (BACKEND_KIND === 'cuda') return loadBackend({ kind: 'cuda', allowFaultInjection: true });
  return loadBackend({
    kind: 'mock',
    mock: {
      devices: devices.map((totalBytes, i) => ({ name: `mock-${i}`, totalBytes })),
      digestThreads: 2,
    },
  });
}

const made: string[] = [];
const open = new Set<Harness>();

/** How many harnesses are open (test/setup.ts checks none outlives its file). */
export function openHarnesses(): number {
  return open.size;
}

/**
 * Closes every harness a test opened and removes the temp dirs it made. Registered after each
 * test of every file by test/setup.ts, so no test file repeats its own teardown.
 */
export async function closeTestResources(): Promise<void> {
  for (const h of [...open]) {
    open.delete(h);
    await h.close();
  }
  cleanupTmp();
}

export function tmpDir(prefix = 'vram-manager-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function cleanupTmp(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export interface Harness {
  manager: VramManager;
  backend: Backend;
  audit: AuditLogger;
  auditDir: string;
  /** Every narration event written so far, parsed. */
  narration: NarrationEvent[];
  /** The audit events on disk now (records of every segment). */
  auditEvents(): Record<string, unknown>[];
  close(): Promise<void>;
}

export interface HarnessOptions extends Partial<VramManagerOptions> {
  devices?: number[];
  durability?: Durability;
  narrationLevel?: 'debug' | 'info';
}

/**
 * A manager over a test backend, with a real audit log in a fresh directory and a narrator
 * whose lines are kept. The narrator throws on an invalid event (onInvalid 'throw'), which the
 * manager must absorb and count: `expectCleanObservability` checks that nothing was absorbed.
 */
export async function harness(options: HarnessOptions = {}): Promise<Harness> {
  const { devices, durability = 'hybrid', narrationLevel = 'debug', ...rest } = options;
  const backend =
    rest.backend && typeof rest.backend !== 'string' ? rest.backend : testBackend(devices);
  const auditDir = path.join(tmpDir(), 'audit');
  const audit = await AuditLoggerClass.open({
    dir: auditDir,
    serviceId: 'worker-test',
    key: auditKey,
    durability,
    batch: { maxEvents: 64, maxDelayMs: 5 },
  });
  const narration: NarrationEvent[] = [];
  const narrator = createNarrator({
    actor: 'gpu-worker',
    level: narrationLevel,
    onInvalid: 'throw',
    sample: false,
    destination: { write: (line: string) => narration.push(JSON.parse(line)) },
  });
  const manager = await VramManagerClass.create({
    workerToken: TOKEN,
    workerId: 'worker-test',
    audit,
    narrator,
    attestationKey: attestationKeys.privateKey,
    allowFaultInjection: true,
    ...rest,
    backend,
  });
  const h: Harness = {
    manager,
    backend,
    audit,
    auditDir,
    narration,
    auditEvents: () => readAuditEvents(auditDir),
    async close() {
      open.delete(h);
      await manager.close();
      await audit.close();
    },
  };
  open.add(h);
  return h;
}

/**
 * The `event` of every record on disk, in order. A segment still being written ends in the zeros
 * audit-logging preallocates: its records end at the first NUL.
 */
export function readAuditEvents(dir: string): Record<string, unknown>[] {
  return fs
    .readdirSync(dir)
    .filter((name) => name.startsWith('segment-'))
    .sort()
    .flatMap((name) =>
      fs
        .readFileSync(path.join(dir, name), 'utf8')
        .split('\0')[0]!
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line).event as Record<string, unknown>),
    );
}

/** The log verifies with the key, and the manager absorbed no narration or audit failure. */
export async function expectCleanObservability(h: Harness): Promise<void> {
  expect(h.manager.observabilityFailures).toEqual({ narration: 0, audit: 0 });
  const metrics = await h.manager.prometheusMetrics();
  // After close() the metrics are gone from the registry; the count above still answers.
  if (metrics.includes('vram_observability_failures_total')) {
    expect(metrics).toMatch(/vram_observability_failures_total\{sink="narration"\} 0/);
    expect(metrics).toMatch(/vram_observability_failures_total\{sink="audit"\} 0/);
  }
  for (const event of h.narration) {
    expect(event.narration_defects, JSON.stringify(event)).toBeUndefined();
  }
  await h.audit.flush();
  const report = await verifyAuditLog(h.auditDir, { key: auditKey });
  expect(report.ok, JSON.stringify(report)).toBe(true);
}

export function randomShard(bytes: number): Uint8Array {
  return new Uint8Array(randomBytes(bytes));
}

/** An async iterable that yields `data` in the given chunk sizes (cycled). */
export async function* chunked(data: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let offset = 0;
  let i = 0;
  while (offset < data.length) {
    const size = sizes[i++ % sizes.length]!;
    yield data.slice(offset, offset + size);
    offset += size;
  }
}

/** Resolves after the queued audit events were handed over and committed. */
export async function settleAudit(h: Harness): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  await h.audit.flush();
}

export function narrationOf(h: Harness, action: string): NarrationEvent[] {
  return h.narration.filter((e) => e.action === action);
}
