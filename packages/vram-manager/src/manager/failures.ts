import { type Backend, loadBackend } from '@vramseal/cuda-ffi';
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
