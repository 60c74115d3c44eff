import type { KeyObject } from 'node:crypto';
import type { VerifyReport } from '@vramseal/audit-logging';
import type { Backend } from '@vramseal/cuda-ffi';
import type { SecretKey } from '@vramseal/seal-crypto';
import type { VramPolicy } from '@vramseal/vram-manager';

// The shapes a scenario's World holds and hands to its steps and to the proof bundle.

/** A shard as a seal-crypto scenario knows it: its id, where it lives, and its bytes. */
export interface ScenarioShard {
  readonly shardId: string;
  readonly device: number;
  bytes: Uint8Array;
}

/** A tree digest and the leaf hashes it was built from, kept so steps can prove single leaves. */
export interface ScenarioTree {
  readonly root: Uint8Array;
  readonly leafSize: number;
  readonly leafHashes: Uint8Array[];
}

/** An audit log a scenario writes, and the keys an auditor verifies it with. */
export interface ScenarioAuditLog {
  readonly dir: string;
  readonly serviceId: string;
  readonly key: SecretKey;
  readonly signingKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** How a scenario's VRAM manager is made (every field optional). */
export interface ManagerSetup {
  /**
   * Mock device sizes in bytes. Given: the scenario runs on a mock of exactly these devices
   * whatever VRAMSEAL_BACKEND says (capacity facts only a mock can promise). Left out: the run's
   * backend (mock by default, the GPU under VRAMSEAL_BACKEND=cuda).
   */
  mockDevices?: readonly number[];
  /** Default: a fresh random token per scenario. */
  workerToken?: string;
  /** Default: `worker-bdd`. */
  workerId?: string;
  policy?: VramPolicy;
  leafSize?: number;
  /** A backend to use as is (e.g. a test double of cuda-ffi). */
  backend?: Backend;
}

/** What the last attempted operation did: its value, or the error it threw. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** What a finished scenario leaves for its proof bundle. */
export interface ScenarioEvidence {
  readonly narrationEvents: number;
  readonly narrationChecks: number;
  readonly auditChecks: number;
  /** storySnapshot of every event the scenario narrated (stable across runs). */
  readonly story: string;
  /** The manager's audit log verified with the audit key and the checkpoint public key. */
  readonly audit: VerifyReport | null;
  readonly auditEvents: number;
  /** A step edited or broke the audit log on purpose (so a failing verification is expected). */
  readonly auditTampered: boolean;
  readonly observabilityFailures: { narration: number; audit: number } | null;
  /** Errors closing the manager or the audit log (a scenario may have caused one on purpose). */
  readonly closeErrors: readonly string[];
}
