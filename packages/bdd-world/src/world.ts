import { generateKeyPairSync, hkdfSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type IWorldOptions, World } from '@cucumber/cucumber';
import {
  AuditLogger,
  type AuditRecord,
  type VerifyReport,
  verifyAuditLog,
} from '@vramseal/audit-logging';
import type { Backend, DeviceAllocation } from '@vramseal/cuda-ffi';
import { newCorrelationId, withCorrelation } from '@vramseal/narration-core';
import { storySnapshot } from '@vramseal/narration-core/testing';
import {
  deriveKey,
  HKDF_SALT,
  KEY_DERIVATION_LABELS,
  SealCryptoError,
  type SealFields,
  type SecretKey,
} from '@vramseal/seal-crypto';
import {
  type AttestationStatement,
  type SealedShard,
  VramError,
  VramManager,
} from '@vramseal/vram-manager';
import { readAuditRecords } from './assertions/audit.js';
import { mockBackend, scenarioBackend } from './scenario/backend-choice.js';
import { NarrationLog } from './scenario/narration-log.js';
import type {
  ManagerSetup,
  Outcome,
  ScenarioAuditLog,
  ScenarioEvidence,
  ScenarioShard,
  ScenarioTree,
} from './scenario/types.js';
import { randomToken } from './tamper.js';

/**
 * The state one scenario builds up. Cucumber makes a fresh World per scenario, so nothing leaks
 * between scenarios: each has its own VRAM manager, audit log (in a temp dir), narration log and
 * correlation id. Given/When steps fill it in, Then steps read it, the After hook closes it.
 */
export class VramWorld extends World {
  /** Every manager operation a step starts runs under this id (narration-core's withCorrelation). */
  readonly correlationId = newCorrelationId();
  /** Everything narrated in this scenario, by the manager and anything else given `narrator`. */
  readonly narration = new NarrationLog();
  manager?: VramManager;
  workerToken?: string;
  workerId = 'worker-bdd';
  /** The manager's audit log: its folder, keys and the open logger. */
  managerAudit?: ScenarioAuditLog & { logger?: AuditLogger };
  /** Shards sealed by name (the scenario's shard id), and the bytes each was sealed from. */
  readonly shards = new Map<string, SealedShard>();
  readonly shardBytes = new Map<string, Uint8Array>();
  /** The last attempted operation's outcome (`attempt`). */
  outcome?: Outcome;
  /** A second manager of the same worker (same token and audit log), closed after the scenario. */
  otherManager?: VramManager;
  /** Managers a step made besides these two; `finish()` closes them and counts their failures. */
  readonly extraManagers: VramManager[] = [];
  /** Observability failures of the managers closed so far (a restart closes one). */
  readonly #failures = { narration: 0, audit: 0 };
  readonly #retired = new WeakSet<VramManager>();
  private managersSeen = 0;
  /** The private key the manager signs attestations with (steps re-sign statements with it). */
  attestationKey?: KeyObject;
  /** The last attestation statement a step obtained, and how it is presented to the verifier. */
  attestation?: { statement: AttestationStatement; nonce: string; publicKey: KeyObject };
  /** Outcomes of the last batch of concurrent operations. */
  settled?: PromiseSettledResult<unknown>[];
  /** Narration / audit assertions made so far: the After hook requires a narration assertion. */
  narrationChecks = 0;
  auditChecks = 0;
  /** Set by steps that edit the audit log on purpose: the After hook then expects it to fail. */
  auditTampered = false;
  /** The seq of the record an attacker step changed. */
  tamperedSeq?: number;
  /** Set by steps that break the narrator on purpose (observability failure scenarios). */
  narrationBroken = false;
  /** Set by `Then nothing was narrated`: an empty narration is then the behaviour under test. */
  silenceExpected = false;
  /** Set by steps that make closing fail on purpose (a cudaFree failure). */
  closeErrorsExpected = false;
  /** The feature file the scenario comes from (snapshots live beside it). */
  featureUri?: string;
  private setup: ManagerSetup = {};

  // The seal-crypto, Merkle and device-memory steps keep their own state.
  sealKey?: SecretKey;
  attemptedKey?: SecretKey;
  shard?: ScenarioShard;
  sealFields?: SealFields;
  signature?: Uint8Array;
  verificationKey?: SecretKey;
  tree?: ScenarioTree;
  proof?: { leafIndex: number; leafHash: Uint8Array; path: Uint8Array[] };
  lastError?: unknown;
  backend?: Backend;
  /** Device memory another process holds on the scenario's mock device (device steps). */
  otherProcessMemory?: DeviceAllocation;
  /** Device memory and temp folders the scenario made; `cleanUp` releases them after it. */
  readonly allocations: DeviceAllocation[] = [];
  readonly tempDirs: string[] = [];

  constructor(options: IWorldOptions) {
    super(options);
  }

  /**
   * Opens the scenario's audit log (hybrid durability, checkpoints every 16 records, signed) and
   * creates the VRAM manager with the scenario's narrator, inside the scenario's correlation.
   */
  async startManager(setup: ManagerSetup = {}): Promise<VramManager> {
    if (this.manager && this.manager.state !== 'closed') {
      throw new Error('this scenario already has a VRAM manager: a Given step made it');
    }
    this.setup = setup;
    this.workerToken = setup.workerToken ?? this.workerToken ?? randomToken();
    this.workerId = setup.workerId ?? this.workerId;
    const audit = await this.openManagerAudit(this.workerToken);
    const backend =
      setup.backend ?? (setup.mockDevices ? mockBackend(setup.mockDevices) : scenarioBackend());
    const attestation = generateKeyPairSync('ed25519');
    this.attestationKey = attestation.privateKey;
    this.manager = await this.inCorrelation(() =>
      VramManager.create({
        backend,
        workerToken: this.workerToken,
        workerId: this.workerId,
        ...(audit ? { audit } : {}),
        narrator: this.narration.narrator,
        attestationKey: attestation.privateKey,
        allowFaultInjection: true,
        ...(setup.policy ? { policy: setup.policy } : {}),
        ...(setup.leafSize ? { leafSize: setup.leafSize } : {}),
      }),
    );
    return this.manager;
  }

  /**
   * The scenario's audit log, opened (hybrid durability, checkpoints every 16 records, signed).
   * A token too weak for an audit key gets none: the manager then refuses the same token itself,
   * which is what such a scenario is about.
   */
  private async openManagerAudit(token: string): Promise<AuditLogger | undefined> {
    if (!this.managerAudit) {
      try {
        this.managerAudit = this.newAuditLog(this.workerId, token);
      } catch (error) {
        if (error instanceof SealCryptoError) return undefined;
        throw error;
      }
    }
    const audit = this.managerAudit;
    audit.logger ??= await AuditLogger.open({
      dir: audit.dir,
      serviceId: audit.serviceId,
      key: audit.key,
      signingKey: audit.signingKey,
      durability: 'hybrid',
      checkpointEvery: 16,
    });
    return audit.logger;
  }

  /** A second manager for the same worker: same token, audit log and narration, its own memory. */
  async startOtherManager(): Promise<VramManager> {
    this.need(this.manager, 'VRAM manager'); // it made the token and the audit log
    this.otherManager = await this.inCorrelation(() =>
      VramManager.create({
        backend: mockBackend(),
        workerToken: this.workerToken,
        workerId: this.workerId,
        audit: this.managerAudit?.logger,
        narrator: this.narration.narrator,
      }),
    );
    return this.otherManager;
  }

  /** The manager a Given step made; fails the step clearly when there is none. */
  get vram(): VramManager {
    return this.need(this.manager, 'VRAM manager');
  }

  /**
   * Closes the manager and its audit log, then opens both again on the same folder: a worker
   * restart. Resident shards are freed by the close (a new process has no device memory).
   */
  async restartManager(): Promise<VramManager> {
    const closing = this.vram;
    await this.inCorrelation(() => closing.close());
    this.retireFailures(closing);
    await this.managerAudit?.logger?.close();
    if (this.managerAudit) this.managerAudit.logger = undefined;
    this.shards.clear();
    return this.startManager(this.setup);
  }

  /** Runs `fn` under the scenario's correlation id, so everything it narrates carries it. */
  inCorrelation<T>(fn: () => T): T {
    return withCorrelation(this.correlationId, fn);
  }

  /** Runs `fn` under the correlation id and keeps what it did (value or error) in `outcome`. */
  async attempt(fn: () => unknown): Promise<Outcome> {
    try {
      this.outcome = { ok: true, value: await this.inCorrelation(fn) };
    } catch (error) {
      this.outcome = { ok: false, error };
    }
    return this.outcome;
  }

  /** The error of the last attempt, which must have failed with a VramError. */
  vramError(): VramError {
    const outcome = this.lastOutcome();
    if (outcome.ok)
      throw new Error('the operation succeeded, but the scenario expected it to fail');
    if (!(outcome.error instanceof VramError)) {
      throw new Error(`expected a VramError, got ${String(outcome.error)}`, {
        cause: outcome.error,
      });
    }
    return outcome.error;
  }

  /** A shard this scenario sealed, by its id. */
  sealed(shardId: string): SealedShard {
    const shard = this.shards.get(shardId);
    if (!shard) {
      const known = [...this.shards.keys()].join(', ') || 'none';
      throw new Error(`no shard "${shardId}" was sealed in this scenario (sealed: ${known})`);
    }
    return shard;
  }

  /** The manager's audit records so far (hands queued events to the log first). */
  async auditRecords(): Promise<AuditRecord[]> {
    const audit = this.need(this.managerAudit, 'audit log');
    // The manager hands routine events to the logger on the next turn (setImmediate): let it.
    await new Promise((resolve) => setImmediate(resolve));
    await audit.logger?.flush();
    return readAuditRecords(audit.dir);
  }

  /**
   * The secrets of this scenario as they could leak: the worker token, and the seal and audit key
   * bytes (derived here with node:crypto from the documented HKDF labels) in hex and base64.
   */
  knownSecrets(): string[] {
    const token = this.workerToken;
    if (token === undefined) return [];
    const secrets = [token];
    for (const label of Object.values(KEY_DERIVATION_LABELS)) {
      const key = Buffer.from(hkdfSync('sha256', token, HKDF_SALT, label, 32));
      secrets.push(key.toString('hex'), key.toString('base64'));
    }
    return secrets;
  }

  /** A fresh audit log folder (removed after the scenario) and its keys. */
  newAuditLog(serviceId: string, token: string): ScenarioAuditLog {
    const tmp = mkdtempSync(join(tmpdir(), 'vramseal-bdd-'));
    this.tempDirs.push(tmp);
    const signing = generateKeyPairSync('ed25519');
    return {
      dir: join(tmp, 'audit'),
      serviceId,
      key: deriveKey(token, 'audit'),
      signingKey: signing.privateKey,
      publicKey: signing.publicKey,
    };
  }

  /** A temp folder removed after the scenario. */
  tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'vramseal-bdd-'));
    this.tempDirs.push(dir);
    return dir;
  }

  /**
   * Ends the scenario's run: closes the manager (freeing its shards) and the audit log, verifies
   * the log, and returns what the proof bundle keeps. Never throws: problems are in the evidence.
   */
  async finish(): Promise<ScenarioEvidence> {
    const closeErrors: string[] = [];
    const close = async (manager: VramManager | undefined, name: string) => {
      if (!manager) return;
      await this.inCorrelation(() => manager.close()).catch((error: unknown) => {
        closeErrors.push(`${name}.close(): ${describe(error)}`);
      });
      // Read after closing: what the close itself narrated or audited counts too.
      this.retireFailures(manager);
    };
    for (const extra of this.extraManagers) await close(extra, 'an extra manager');
    await close(this.otherManager, 'otherManager');
    await close(this.manager, 'manager');
    const audit = this.managerAudit;
    await audit?.logger?.close().catch((error: unknown) => {
      closeErrors.push(`audit.close(): ${describe(error)}`);
    });
    let report: VerifyReport | null = null;
    let auditEvents = 0;
    if (audit) {
      report = await verifyAuditLog(audit.dir, { key: audit.key, publicKey: audit.publicKey });
      auditEvents = report.events;
    }
    return {
      narrationEvents: this.narration.events.length,
      narrationChecks: this.narrationChecks,
      auditChecks: this.auditChecks,
      story: storySnapshot(this.narration.events),
      audit: report,
      auditEvents,
      auditTampered: this.auditTampered,
      observabilityFailures: this.managersSeen > 0 ? { ...this.#failures } : null,
      closeErrors,
    };
  }

  /** Adds a closed manager's observability failures to the scenario's (once per manager). */
  private retireFailures(manager: VramManager): void {
    if (this.#retired.has(manager)) return;
    this.#retired.add(manager);
    this.managersSeen++;
    this.#failures.narration += manager.observabilityFailures.narration;
    this.#failures.audit += manager.observabilityFailures.audit;
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

  /**
   * The outcome (or concurrent outcomes) of the last When step. Each When step forgets the one
   * before (a BeforeStep hook), so a Then always reads the action just before it.
   */
  lastOutcome(): Outcome {
    if (this.outcome === undefined) {
      throw new Error(
        'the last When step attempted no operation: put the attempt right before this Then',
      );
    }
    return this.outcome;
  }

  lastSettled(): PromiseSettledResult<unknown>[] {
    if (this.settled === undefined) {
      throw new Error(
        'the last When step ran no concurrent operations: put them right before this Then',
      );
    }
    return this.settled;
  }
}

/** The name the first release exported; the same class. */
export { VramWorld as VramsealWorld };

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
