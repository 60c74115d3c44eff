import { CudaFfiError } from './errors.js';

/** Checks that `value` is an integer in [min, max]; the error names the argument and the range. */
export function assertInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new CudaFfiError(
      'INVALID_ARGUMENT',
      `${name} must be an integer from ${min} to ${max}, got ${describe(value)}`,
      { argument: name },
    );
  }
  return value;
}

export function assertBytes(value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new CudaFfiError(
      'INVALID_ARGUMENT',
      `${name} must be a Uint8Array (or Buffer), got ${describe(value)}`,
      { argument: name },
    );
  }
  return value;
}

export function assertObject(
  value: unknown,
  name: string,
  example: string,
): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CudaFfiError(
      'INVALID_ARGUMENT',
      `${name} must be an object such as ${example}, got ${describe(value)}`,
      { argument: name },
    );
  }
  return value as Record<string, unknown>;
}

/** A short, safe description of a bad value for an error message (never its full contents). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return `a ${value.constructor.name} of ${value.length} bytes`;
  switch (typeof value) {
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return String(value);
    case 'string':
      return `a string of length ${value.length}`;
    default:
      return `a ${typeof value}`;
  }
}
