import { validateField } from '@vramseal/audit-logging';
import { type Backend, CudaFfiError, loadBackend } from '@vramseal/cuda-ffi';
import { configError, type ResolvedConfig } from '../config/options.js';
import { messageOf, VramError } from '../errors.js';

export function openBackend(config: ResolvedConfig): Backend {
  if (typeof config.backend !== 'string') return config.backend;
  try {
    return loadBackend({ kind: config.backend, allowFaultInjection: config.allowFaultInjection });
  } catch (error) {
    throw configError(
      [
        {
          option: 'backend',
          message: `backend '${config.backend}' cannot be opened: ${messageOf(error)}`,
        },
      ],
      error,
    );
  }
}

export function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return (
    signal?.aborted === true &&
    (error === signal.reason || (error instanceof Error && error.name === 'AbortError'))
  );
}

export function closedError(operation: string): VramError {
  return new VramError(
    'MANAGER_STOPPED',
    `${operation} refused: the manager is closed; create a new one`,
  );
}

export function auditNote(outcome: { durable: boolean; error?: unknown }): string {
  if (outcome.durable) return '';
  return outcome.error instanceof Error && outcome.error.message === 'no audit logger configured'
    ? ''
    : ` (the audit record could not be written: ${messageOf(outcome.error)})`;
}

/** Any failure of a seal as a VramError (aborts, cuda-ffi and seal-crypto errors included). */
export function sealFailure(error: unknown, signal: AbortSignal | undefined): VramError {
  if (error instanceof VramError) return error;
  if (isAbort(error, signal)) {
    return new VramError(
      'ABORTED',
      'the seal was aborted by its signal; its memory was freed and nothing was sealed',
      { cause: signal?.reason ?? error },
    );
  }
  if (error instanceof CudaFfiError) {
    return new VramError(
      'DEVICE_ERROR',
      `the device failed while the shard was copied or hashed: ${error.message}; its memory was freed. Check the device (nvidia-smi, the driver log) before sealing on it again`,
      { cause: error },
    );
  }
  // The only foreign code a seal runs is its source (the caller's stream).
  return new VramError(
    'SOURCE_UNREADABLE',
    `reading the shard's source failed: ${messageOf(error)}; its memory was freed, retry the seal`,
    { cause: error, argument: 'source' },
  );
}

export function sealFailureWords(error: VramError): string {
  switch (error.code) {
    case 'INSUFFICIENT_VRAM':
      return 'not enough VRAM';
    case 'ABORTED':
      return 'aborted by the caller';
    case 'INTEGRITY_VIOLATION':
      return 'the bytes do not match the expected SHA-256';
    case 'POLICY_VIOLATION':
      return 'the memory is not VRAM';
    case 'MANAGER_STOPPED':
      return 'the manager stopped meanwhile';
    default:
      return error.code.toLowerCase().replaceAll('_', ' ');
  }
}

export function snakeFacts(facts: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(facts)) {
    if (value !== undefined) out[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = value;
  }
  return out;
}

/**
 * A message (a device's or driver's, quoted in a reason) as an audit `reason`, which the log checks
 * as `text`: printable ASCII, at most 200 characters, no pointer-like hex and no run of 64+ hex
 * digits (the log refuses what could help an exploit or look like key material). A refused reason
 * would drop the whole record, so what still fails the log's own check becomes `fallback`.
 */
export function auditReason(message: string, fallback: string): string {
  const text = message
    .slice(0, 200)
    .replace(/[^\x20-\x7e]/g, ' ')
    .replace(/0x[0-9a-f]+/gi, '0x?')
    .replace(/[0-9a-f]{64,}/gi, (run) => `${run.slice(0, 16)}...`)
    .trim();
  try {
    validateField('reason', 'text', text);
    return text;
  } catch {
    return fallback;
  }
}
