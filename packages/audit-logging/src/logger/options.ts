import { SecretKey } from '@vramseal/seal-crypto';
import { type CheckpointSigningKey, toSigningKey } from '../checkpoint/keys.js';
import { AuditConfigError, type AuditError } from '../errors.js';
import { validateTextOption } from '../events/validate.js';

/**
 * When `emit` resolves:
 * - `immediate`: after the event's own write + fdatasync (one fsync per event)
 * - `batched`: after the first fdatasync (on libuv's thread pool) that starts once its batch is
 *   written; a batch is written on `batch.maxEvents` queued events or `batch.maxDelayMs` after the
 *   first queued one (a real timer), whichever is first
 * - `hybrid`: like `batched`, but a `critical` event writes the queue (itself included) at once
 */
export type Durability = 'immediate' | 'batched' | 'hybrid';

export interface AuditLoggerOptions {
  /** Log directory; created with mode 0700. Symlinks are refused. */
  readonly dir: string;
  /** Written into every record; a directory belongs to one service. */
  readonly serviceId: string;
  /** Audit MAC key: `deriveKey(secret, 'audit')` from @vramseal/seal-crypto. */
  readonly key: SecretKey;
  readonly durability?: Durability;
  readonly batch?: { readonly maxEvents?: number; readonly maxDelayMs?: number };
  /** Start a new segment when the next commit would pass `maxBytes`, and/or at UTC midnight. */
  readonly rotation?: { readonly maxBytes?: number; readonly daily?: boolean };
  /**
   * Bytes of zeros written ahead of the active segment's records whenever they reach the end of
   * the file (default 1 MiB, at most 64 MiB; capped at `rotation.maxBytes`). An fdatasync of
   * records written over them skips the filesystem journal commit an append needs: `immediate`
   * runs about 1.35x faster (README, Benchmarks). Until the segment is closed its file ends in
   * these zeros; readers of the log stop at the first NUL. 0 turns preallocation off: plain appends.
   */
  readonly preallocate?: number;
  /** Write a checkpoint every N records (default 1000), and always on close. */
  readonly checkpointEvery?: number;
  /** Ed25519 private key for checkpoints: KeyObject, PKCS#8 PEM, or 32-byte seed. */
  readonly signingKey?: CheckpointSigningKey;
  /** Called with every write failure (also delivered as the rejection of the affected `emit`s). */
  readonly onError?: (error: AuditError) => void | Promise<void>;
  /** Time source (tests use it to cross midnight). Default: `() => new Date()`. */
  readonly clock?: () => Date;
}

const DEFAULT_BATCH = { maxEvents: 256, maxDelayMs: 20 };
const DEFAULT_CHECKPOINT_EVERY = 1000;
const DEFAULT_PREALLOCATE = 1 << 20;
/** Zeros are written in one go on the event loop: more than this would stall it (and fill disks). */
const MAX_PREALLOCATE = 64 << 20;
const DURABILITIES: readonly Durability[] = ['immediate', 'batched', 'hybrid'];

/** The longest delay setTimeout honours (2^31 - 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

function positiveInt(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new AuditConfigError(
      option,
      `${option} must be a positive integer, got ${String(value)}`,
    );
  }
  return value;
}

function preallocateBytes(value: unknown): number {
  if (value === undefined) return DEFAULT_PREALLOCATE;
  if (
    typeof value !== 'number' ||
    !Number.isSafeInteger(value) ||
    value < 0 ||
    value > MAX_PREALLOCATE
  ) {
    throw new AuditConfigError(
      'preallocate',
      `preallocate must be a whole number of bytes from 0 (plain appends) to ${MAX_PREALLOCATE} (64 MiB), got ${String(value)}`,
    );
  }
  return value;
}

function checkKey(key: unknown): SecretKey {
  if (!(key instanceof SecretKey)) {
    throw new AuditConfigError(
      'key',
      "key must be a SecretKey from deriveKey(secret, 'audit') or loadKeyFile(path, 'audit')",
    );
  }
  if (key.purpose !== 'audit') {
    throw new AuditConfigError(
      'key',
      `key ${key.id} was derived for "${key.purpose}"; the audit log needs deriveKey(secret, 'audit')`,
    );
  }
  return key;
}

/** Checks what `open` needs before touching the disk; each error names its option. */
export function checkOpenOptions(options: AuditLoggerOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new AuditConfigError(
      'options',
      'AuditLogger.open needs an options object: { dir, serviceId, key }',
    );
  }
  if (typeof options.dir !== 'string' || options.dir.length === 0) {
    throw new AuditConfigError('dir', 'dir must be the path of the log directory');
  }
  try {
    validateTextOption('serviceId', options.serviceId);
  } catch (error) {
    throw new AuditConfigError('serviceId', (error as Error).message);
  }
  checkKey(options.key);
  if (options.durability !== undefined && !DURABILITIES.includes(options.durability)) {
    throw new AuditConfigError(
      'durability',
      `durability must be one of ${DURABILITIES.join(', ')}, got ${String(options.durability)}`,
    );
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw new AuditConfigError('onError', 'onError must be a function');
  }
  if (options.clock !== undefined && typeof options.clock !== 'function') {
    throw new AuditConfigError('clock', 'clock must be a function returning a Date');
  }
  positiveInt('batch.maxEvents', options.batch?.maxEvents, DEFAULT_BATCH.maxEvents);
  const maxDelayMs = positiveInt(
    'batch.maxDelayMs',
    options.batch?.maxDelayMs,
    DEFAULT_BATCH.maxDelayMs,
  );
  if (maxDelayMs > MAX_TIMER_MS) {
    // setTimeout turns a longer delay into 1 ms (with a TimeoutOverflowWarning): refuse it instead.
    throw new AuditConfigError(
      'batch.maxDelayMs',
      `batch.maxDelayMs must be at most ${MAX_TIMER_MS} (about 24.8 days), got ${maxDelayMs}`,
    );
  }
  if (options.rotation?.daily !== undefined && typeof options.rotation.daily !== 'boolean') {
    throw new AuditConfigError('rotation.daily', 'rotation.daily must be true or false');
  }
  positiveInt('rotation.maxBytes', options.rotation?.maxBytes, 1);
  positiveInt('checkpointEvery', options.checkpointEvery, DEFAULT_CHECKPOINT_EVERY);
  preallocateBytes(options.preallocate);
  if (options.signingKey !== undefined) toSigningKey(options.signingKey);
}

/** The options `open` checked, with every default filled in. */
export interface WriterSettings {
  readonly durability: Durability;
  readonly maxEvents: number;
  readonly maxDelayMs: number;
  readonly maxBytes: number | undefined;
  readonly daily: boolean;
  readonly checkpointEvery: number;
  /** Zeros to write ahead of the records: the option, capped at `maxBytes`. */
  readonly preallocate: number;
  readonly signingKey: ReturnType<typeof toSigningKey> | undefined;
  readonly onError: AuditLoggerOptions['onError'];
  readonly clock: () => Date;
}

export function writerSettings(options: AuditLoggerOptions): WriterSettings {
  const { batch, rotation } = options;
  return {
    durability: options.durability ?? 'immediate',
    maxEvents: positiveInt('batch.maxEvents', batch?.maxEvents, DEFAULT_BATCH.maxEvents),
    maxDelayMs: positiveInt('batch.maxDelayMs', batch?.maxDelayMs, DEFAULT_BATCH.maxDelayMs),
    maxBytes:
      rotation?.maxBytes === undefined
        ? undefined
        : positiveInt('rotation.maxBytes', rotation.maxBytes, 0),
    daily: rotation?.daily ?? false,
    checkpointEvery: positiveInt(
      'checkpointEvery',
      options.checkpointEvery,
      DEFAULT_CHECKPOINT_EVERY,
    ),
    preallocate: Math.min(
      preallocateBytes(options.preallocate),
      rotation?.maxBytes ?? Number.POSITIVE_INFINITY,
    ),
    signingKey: options.signingKey === undefined ? undefined : toSigningKey(options.signingKey),
    onError: options.onError,
    clock: options.clock ?? (() => new Date()),
  };
}
