import { createPublicKey, KeyObject } from 'node:crypto';
import { AuditLogger } from '@vramseal/audit-logging';
import type { Backend } from '@vramseal/cuda-ffi';
import type { Narrator } from '@vramseal/narration-core';
import { deriveKey, SealCryptoError, SecretKey } from '@vramseal/seal-crypto';
import type { Registry } from 'prom-client';
import { describeValue, messageOf, VramError } from '../errors.js';
import { holdsCredential, WORKER_ID_PATTERN } from '../input/validate.js';

export interface VramPolicy {
  /**
   * Refuse anything but real device memory: the mock backend is a configuration error, an
   * integrated GPU or an allocation that is not device memory is a policy violation. Default false.
   */
  vramOnly?: boolean;
  /** Bytes of free device memory never handed to seals (room for activations, workspaces). Default 0. */
  headroomBytes?: number;
  /** The largest shard accepted, in bytes. Default 2^53 - 1 (no limit beyond the device). */
  maxShardBytes?: number;
}

export interface VramManagerOptions {
  /** A backend from @vramseal/cuda-ffi `loadBackend`, or the kind to load. Default 'auto'. */
  backend?: Backend | 'auto' | 'cuda' | 'mock';
  /** The worker's secret token; the seal key is derived from it (HKDF, purpose 'seal'). */
  workerToken?: string;
  /** Or the seal key itself (`loadKeyFile(path, 'seal')`). Give exactly one of the two. */
  sealKey?: SecretKey;
  /** This worker's id, in every audit record and narration event: 1-256 of A-Z a-z 0-9 . _ : - */
  workerId: string;
  audit?: AuditLogger;
  narrator?: Narrator;
  /** prom-client Registry to register the metrics in. Default: a registry of the manager's own. */
  metricsRegistry?: Registry;
  /** Ed25519 private key that signs VRAM residency attestations. */
  attestationKey?: KeyObject;
  policy?: VramPolicy;
  /** Let `injectFault` flip bits on the cuda backend too (the mock always allows it). Default false. */
  allowFaultInjection?: boolean;
  /** Leaf size of the seals' tree roots: a power of two from 64 to 2^30. Default 65536. */
  leafSize?: number;
}

/** The options after validation. */
export interface ResolvedConfig {
  backend: Backend | 'auto' | 'cuda' | 'mock';
  sealKey: SecretKey;
  workerId: string;
  audit: AuditLogger | undefined;
  narrator: Narrator | undefined;
  metricsRegistry: Registry | undefined;
  attestationKey: KeyObject | undefined;
  attestationPublicKey: KeyObject | undefined;
  vramOnly: boolean;
  headroomBytes: number;
  maxShardBytes: number;
  allowFaultInjection: boolean;
  leafSize: number;
}

export const DEFAULT_LEAF_SIZE = 65_536;

const KNOWN_OPTIONS = new Set([
  'backend',
  'workerToken',
  'sealKey',
  'workerId',
  'audit',
  'narrator',
  'metricsRegistry',
  'attestationKey',
  'policy',
  'allowFaultInjection',
  'leafSize',
]);
const KNOWN_POLICY = new Set(['vramOnly', 'headroomBytes', 'maxShardBytes']);

type Problems = { option: string; message: string }[];

/**
 * Checks every option before anything is opened or allocated, and reports all problems at once
 * (the first one names `error.option`). Secrets are never echoed.
 */
export function resolveConfig(input: unknown): ResolvedConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw configError([
      {
        option: 'options',
        message: `options must be an object with at least workerId and workerToken, got ${describeValue(input)}`,
      },
    ]);
  }
  const options = input as Record<string, unknown>;
  const problems: Problems = [];
  for (const name of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(name)) {
      problems.push({
        option: name,
        message: `${JSON.stringify(name.slice(0, 64))} is not an option of VramManager.create`,
      });
    }
  }
  const sealKey = resolveSealKey(options, problems);
  const workerId = resolveWorkerId(options.workerId, problems);
  const backend = resolveBackend(options.backend, problems);
  const policy = resolvePolicy(options.policy, problems);
  const leafSize = resolveLeafSize(options.leafSize, problems);
  const attestation = resolveAttestationKey(options.attestationKey, problems);
  checkInstance(
    options.audit,
    'audit',
    (v) => v instanceof AuditLogger || hasMethods(v, ['emit']),
    'an AuditLogger from AuditLogger.open()',
    problems,
  );
  checkInstance(
    options.narrator,
    'narrator',
    (v) => hasMethods(v, ['info', 'error', 'child', 'isLevelEnabled']),
    'a Narrator from createNarrator()',
    problems,
  );
  checkInstance(
    options.metricsRegistry,
    'metricsRegistry',
    (v) => hasMethods(v, ['metrics', 'getSingleMetric', 'removeSingleMetric']),
    'a prom-client Registry',
    problems,
  );
  if (
    options.allowFaultInjection !== undefined &&
    typeof options.allowFaultInjection !== 'boolean'
  ) {
    problems.push({
      option: 'allowFaultInjection',
      message: `allowFaultInjection must be true or false, got ${describeValue(options.allowFaultInjection)}`,
    });
  }
  if (policy.vramOnly && (backend === 'mock' || (isBackend(backend) && backend.kind === 'mock'))) {
    problems.push({
      option: 'policy.vramOnly',
      message:
        "policy.vramOnly cannot hold on the mock backend (its memory is host memory); use backend 'cuda' on a GPU, or drop vramOnly for development",
    });
  }
  if (problems.length > 0) throw configError(problems);
  return {
    backend,
    sealKey: sealKey!,
    workerId: workerId!,
    audit: options.audit as AuditLogger | undefined,
    narrator: options.narrator as Narrator | undefined,
    metricsRegistry: options.metricsRegistry as Registry | undefined,
    attestationKey: attestation?.privateKey,
    attestationPublicKey: attestation?.publicKey,
    vramOnly: policy.vramOnly,
    headroomBytes: policy.headroomBytes,
    maxShardBytes: policy.maxShardBytes,
    allowFaultInjection: options.allowFaultInjection === true,
    leafSize,
  };
}

export function configError(problems: Problems, cause?: unknown): VramError {
  const [first] = problems;
  const message =
    problems.length === 1
      ? `invalid VramManager option ${first!.option}: ${first!.message}`
      : `${problems.length} invalid VramManager options: ${problems.map((p) => `${p.option}: ${p.message}`).join('; ')}`;
  return new VramError('CONFIG_ERROR', message, { option: first!.option, problems, cause });
}

function resolveSealKey(
  options: Record<string, unknown>,
  problems: Problems,
): SecretKey | undefined {
  const { workerToken, sealKey } = options;
  if (workerToken !== undefined && sealKey !== undefined) {
    problems.push({
      option: 'sealKey',
      message: 'give workerToken or sealKey, not both: they would be two different seal keys',
    });
    return undefined;
  }
  if (sealKey !== undefined) {
    if (!(sealKey instanceof SecretKey) || sealKey.purpose !== 'seal') {
      problems.push({
        option: 'sealKey',
        message:
          "sealKey must be a seal SecretKey from @vramseal/seal-crypto (loadKeyFile(path, 'seal') or deriveKey(secret, 'seal'))",
      });
      return undefined;
    }
    return sealKey;
  }
  if (workerToken === undefined) {
    problems.push({
      option: 'workerToken',
      message:
        "a seal key is required: give workerToken (e.g. process.env.VRAMSEAL_WORKER_TOKEN) or sealKey (loadKeyFile(path, 'seal'))",
    });
    return undefined;
  }
  if (typeof workerToken !== 'string') {
    problems.push({
      option: 'workerToken',
      message: `workerToken must be a string, got ${describeValue(workerToken)}`,
    });
    return undefined;
  }
  try {
    return deriveKey(workerToken, 'seal');
  } catch (error) {
    const weak = error instanceof SealCryptoError && error.code === 'WEAK_SECRET';
    problems.push({
      option: 'workerToken',
      message: weak
        ? 'workerToken is too weak (shorter than 16 bytes or trivially repetitive); use a random token such as `openssl rand -hex 32`'
        : `workerToken cannot be used: ${messageOf(error)}`,
    });
    return undefined;
  }
}

function resolveWorkerId(value: unknown, problems: Problems): string | undefined {
  if (value === undefined) {
    problems.push({
      option: 'workerId',
      message:
        'workerId is required: it names this worker in every audit record and narration event',
    });
    return undefined;
  }
  if (typeof value !== 'string' || !WORKER_ID_PATTERN.test(value)) {
    problems.push({
      option: 'workerId',
      message: `workerId must be 1 to 256 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-', got ${describeValue(value)}`,
    });
    return undefined;
  }
  if (holdsCredential(value)) {
    problems.push({
      option: 'workerId',
      message:
        'workerId looks like a credential (a token or key); it is written into every audit record and narration event: use a host or pod name',
    });
    return undefined;
  }
  return value;
}

function isBackend(value: unknown): value is Backend {
  return (
    hasMethods(value, [
      'allocate',
      'memInfo',
      'deviceCount',
      'deviceInfo',
      'isVramOnly',
      'treeDigestMany',
    ]) &&
    ((value as Backend).kind === 'cuda' || (value as Backend).kind === 'mock')
  );
}

function resolveBackend(value: unknown, problems: Problems): ResolvedConfig['backend'] {
  if (value === undefined) return 'auto';
  if (value === 'auto' || value === 'cuda' || value === 'mock' || isBackend(value)) return value;
  problems.push({
    option: 'backend',
    message: `backend must be 'auto', 'cuda', 'mock' or a Backend from loadBackend(), got ${describeValue(value)}`,
  });
  return 'auto';
}

function resolvePolicy(
  value: unknown,
  problems: Problems,
): { vramOnly: boolean; headroomBytes: number; maxShardBytes: number } {
  const policy = { vramOnly: false, headroomBytes: 0, maxShardBytes: Number.MAX_SAFE_INTEGER };
  if (value === undefined) return policy;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push({
      option: 'policy',
      message: `policy must be an object such as { vramOnly: true }, got ${describeValue(value)}`,
    });
    return policy;
  }
  const given = value as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (!KNOWN_POLICY.has(name))
      problems.push({
        option: `policy.${name}`,
        message: `policy.${name} is not a policy option (vramOnly, headroomBytes, maxShardBytes)`,
      });
  }
  if (given.vramOnly !== undefined) {
    if (typeof given.vramOnly === 'boolean') policy.vramOnly = given.vramOnly;
    else
      problems.push({
        option: 'policy.vramOnly',
        message: `policy.vramOnly must be true or false, got ${describeValue(given.vramOnly)}`,
      });
  }
  for (const name of ['headroomBytes', 'maxShardBytes'] as const) {
    const v = given[name];
    if (v === undefined) continue;
    const min = name === 'maxShardBytes' ? 1 : 0;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= min) policy[name] = v;
    else
      problems.push({
        option: `policy.${name}`,
        message: `policy.${name} must be an integer number of bytes >= ${min}, got ${describeValue(v)}`,
      });
  }
  return policy;
}

function resolveLeafSize(value: unknown, problems: Problems): number {
  if (value === undefined) return DEFAULT_LEAF_SIZE;
  if (
    typeof value === 'number' &&
    Number.isSafeInteger(value) &&
    value >= 64 &&
    value <= 2 ** 30 &&
    (value & (value - 1)) === 0
  ) {
    return value;
  }
  problems.push({
    option: 'leafSize',
    message: `leafSize must be a power of two from 64 to 2^30 (default 65536), got ${describeValue(value)}`,
  });
  return DEFAULT_LEAF_SIZE;
}

function resolveAttestationKey(
  value: unknown,
  problems: Problems,
): { privateKey: KeyObject; publicKey: KeyObject } | undefined {
  if (value === undefined) return undefined;
  if (
    value instanceof KeyObject &&
    value.type === 'private' &&
    value.asymmetricKeyType === 'ed25519'
  ) {
    return { privateKey: value, publicKey: createPublicKey(value) };
  }
  problems.push({
    option: 'attestationKey',
    message:
      "attestationKey must be an Ed25519 private KeyObject (generateKeyPairSync('ed25519').privateKey, or createPrivateKey(pem))",
  });
  return undefined;
}

function checkInstance(
  value: unknown,
  option: string,
  ok: (value: unknown) => boolean,
  expected: string,
  problems: Problems,
): void {
  if (value !== undefined && !ok(value))
    problems.push({
      option,
      message: `${option} must be ${expected}, got ${describeValue(value)}`,
    });
}

function hasMethods(value: unknown, methods: readonly string[]): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return methods.every((m) => typeof record[m] === 'function');
}
