import { hostname } from 'node:os';
import { AuditLogger, verifyCheckpoint } from '@vramseal/audit-logging';
import { type Backend, loadBackend } from '@vramseal/cuda-ffi';
import { createNarrator, type NarrationEvent } from '@vramseal/narration-core';
import { DEFAULT_LEAF_SIZE, VramManager } from '@vramseal/vram-manager';
import { CliError, codeOf, messageOf } from '../errors.js';
import type { SigningKey } from '../key/signing-key.js';
import type { WorkerKeys } from '../key/worker-key.js';

export type BackendChoice = 'auto' | 'cuda' | 'mock';

export interface SessionOptions {
  backend: BackendChoice;
  keys: WorkerKeys;
  workerId: string;
  /** The --device the command will seal on: checked against the backend before anything opens. */
  device?: number | 'auto';
  /** Audit every step into this log directory (created if missing). */
  auditDir?: string;
  /** Sign the audit log's checkpoints with this Ed25519 key. */
  signingKey?: SigningKey;
  /** Receives every narration event at `narrationLevel` and above. */
  onNarration?: (event: NarrationEvent) => void;
  narrationLevel?: 'debug' | 'info';
  /** Fault injection (the demo's bit flip): also on a GPU, never in production. */
  allowFaultInjection?: boolean;
}

/** The worker id a CLI run records: this host's name, kept to the characters an id may use. */
export function defaultWorkerId(): string {
  const name = hostname()
    .replace(/[^A-Za-z0-9._:-]/g, '-')
    .slice(0, 200);
  return name === '' ? 'vramseal-cli' : name;
}

/** Opens a backend, or says in one sentence why it cannot and what to use instead. */
export function openBackend(kind: BackendChoice, allowFaultInjection = false): Backend {
  try {
    return loadBackend({ kind, allowFaultInjection });
  } catch (error) {
    if (kind === 'cuda') {
      throw new CliError(
        'BACKEND_UNAVAILABLE',
        `--backend cuda: no CUDA device answered (${codeOf(error) ?? messageOf(error)}); run on a machine with an NVIDIA GPU and driver, or use --backend auto or mock`,
        { cause: error },
      );
    }
    throw new CliError(
      'BACKEND_UNAVAILABLE',
      `cannot load the device backend (${messageOf(error)}); reinstall @vramseal/cuda-ffi for this platform`,
      { cause: error },
    );
  }
}

/** --device against the devices the backend has, said in the command line's words. */
function checkDevice(backend: Backend, device: number | 'auto' | undefined): void {
  if (typeof device !== 'number') return;
  const count = backend.deviceCount();
  if (device < count) return;
  const range = count === 1 ? 'index 0' : `indexes 0 to ${count - 1}`;
  throw new CliError(
    'USAGE',
    `--device ${device} is not a device of this machine: the ${backend.kind} backend has ${count} device(s), ${range}; give --device auto or one of those (\`vramseal devices\` lists them)`,
  );
}

/**
 * A log keeps one signing key (or none): a checkpoint signed by another key, or an unsigned one
 * in a signed log, would make `audit verify --public-key` fail on the whole log from then on.
 * The newest checkpoint on disk tells which key the log has so far.
 */
function signingMismatch(
  audit: AuditLogger,
  dir: string,
  signingKey: SigningKey | undefined,
): CliError | undefined {
  const latest = audit.latestCheckpoint();
  if (latest === undefined) return undefined;
  if (signingKey === undefined) {
    return latest.sig === undefined
      ? undefined
      : new CliError(
          'MISSING_KEY',
          `the audit log in ${dir} has signed checkpoints; pass --signing-key <the key that signs them>, so the log stays verifiable with its public key`,
        );
  }
  if (latest.sig === undefined) {
    return new CliError(
      'BAD_KEY',
      `the audit log in ${dir} has unsigned checkpoints, so \`audit verify --public-key\` could never pass on it; start a signed log in a new --audit-dir, or leave out --signing-key`,
    );
  }
  return verifyCheckpoint(latest, signingKey.key).ok
    ? undefined
    : new CliError(
        'BAD_KEY',
        `the audit log in ${dir} is signed by another key than ${signingKey.source} (key ${signingKey.id}); pass the key that signs it, or use a new --audit-dir`,
      );
}

/**
 * What seal, verify and demo share: one backend, the audit log when asked for, narration, and a
 * VramManager per leaf size (a manager seals with one leaf size; a manifest records each seal's).
 */
export class Session {
  readonly backend: Backend;
  readonly audit: AuditLogger | undefined;
  readonly options: SessionOptions;
  readonly #managers = new Map<number, Promise<VramManager>>();

  private constructor(options: SessionOptions, backend: Backend, audit: AuditLogger | undefined) {
    this.options = options;
    this.backend = backend;
    this.audit = audit;
  }

  static async open(options: SessionOptions): Promise<Session> {
    const backend = openBackend(options.backend, options.allowFaultInjection);
    checkDevice(backend, options.device);
    let audit: AuditLogger | undefined;
    if (options.auditDir !== undefined) {
      try {
        audit = await AuditLogger.open({
          dir: options.auditDir,
          serviceId: options.workerId,
          key: options.keys.audit,
          durability: 'hybrid',
          ...(options.signingKey ? { signingKey: options.signingKey.key } : {}),
        });
      } catch (error) {
        throw new CliError(
          'UNREADABLE_INPUT',
          `cannot open the audit log in ${options.auditDir}: ${messageOf(error)}`,
          { cause: error },
        );
      }
      const mixed = signingMismatch(audit, options.auditDir, options.signingKey);
      if (mixed !== undefined) {
        await audit.close().catch(() => {});
        throw mixed;
      }
    }
    return new Session(options, backend, audit);
  }

  /** The manager that seals with `leafSize` (made on first use). */
  manager(leafSize = DEFAULT_LEAF_SIZE): Promise<VramManager> {
    let manager = this.#managers.get(leafSize);
    if (manager === undefined) {
      const { keys, workerId, onNarration, narrationLevel, allowFaultInjection } = this.options;
      const narrator =
        onNarration === undefined
          ? undefined
          : createNarrator({
              actor: 'vramseal-cli',
              level: narrationLevel ?? 'info',
              destination: { write: (line: string) => onNarration(JSON.parse(line)) },
            });
      manager = VramManager.create({
        backend: this.backend,
        sealKey: keys.seal,
        workerId,
        leafSize,
        allowFaultInjection: allowFaultInjection ?? false,
        ...(this.audit ? { audit: this.audit } : {}),
        ...(narrator ? { narrator } : {}),
      });
      this.#managers.set(leafSize, manager);
    }
    return manager;
  }

  /** Closes every manager (frees the shards, hands their audit events over), then the log. */
  async close(): Promise<void> {
    const managers = await Promise.allSettled(this.#managers.values());
    this.#managers.clear();
    let failure: unknown;
    for (const m of managers) {
      if (m.status === 'fulfilled') await m.value.close().catch((e) => (failure ??= e));
    }
    await this.audit?.close().catch((e) => (failure ??= e));
    if (failure !== undefined) throw failure;
  }
}
