import type { KeyObject } from 'node:crypto';
import { rmSync } from 'node:fs';
import { type IWorldOptions, World } from '@cucumber/cucumber';
import type { VerifyReport } from '@vramseal/audit-logging';
import type { Backend, DeviceAllocation } from '@vramseal/cuda-ffi';
import type { SealFields, SecretKey } from '@vramseal/seal-crypto';

/** A shard as a scenario knows it: its id, where it lives, and its bytes. */
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

/**
 * The state one scenario builds up. Each scenario gets a fresh World, so nothing leaks between
 * scenarios; fields are filled in by Given/When steps and read by Then steps.
 */
export class VramsealWorld extends World {
  sealKey?: SecretKey;
  /** A key a step tried to derive; stays undefined when the derivation was refused. */
  attemptedKey?: SecretKey;
  shard?: ScenarioShard;
  sealFields?: SealFields;
  signature?: Uint8Array;
  verificationKey?: SecretKey;
  tree?: ScenarioTree;
  previousTree?: ScenarioTree;
  proof?: { leafIndex: number; leafHash: Uint8Array; path: Uint8Array[] };
  lastError?: unknown;
  backend?: Backend;
  deviceShard?: DeviceAllocation;
  /** The host-computed tree root of the bytes copied to the device. */
  sealedRoot?: Uint8Array;
  audit?: ScenarioAuditLog;
  auditReport?: VerifyReport;
  /** Device memory and temp folders the scenario made; `cleanUp` releases them after it. */
  readonly allocations: DeviceAllocation[] = [];
  readonly tempDirs: string[] = [];

  constructor(options: IWorldOptions) {
    super(options);
  }

  /** Frees the scenario's device memory and removes its temp folders (an After hook calls it). */
  cleanUp(): void {
    for (const allocation of this.allocations.splice(0)) {
      if (!allocation.freed) allocation.free();
    }
    for (const dir of this.tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }

  /** Fails the step with a message naming what an earlier step should have set up. */
  need<T>(value: T | undefined, what: string): T {
    if (value === undefined) throw new Error(`no ${what} yet: a Given step must set it up first`);
    return value;
  }
}
