import {
  CudaError,
  type CudaErrorName,
  CudaFfiError,
  type CudaFfiErrorCode,
  NATIVE_ERROR_CODES,
} from './errors.js';

/** The fields the addon sets on the JS errors it throws (see native/src/addon/addon.cpp). */
interface NativeErrorFields {
  code?: unknown;
  argument?: unknown;
  cudaError?: unknown;
  operation?: unknown;
}

const NATIVE_CODES: ReadonlySet<string> = new Set(NATIVE_ERROR_CODES);

/** What a CUDA error name means for the person reading the message, for the common ones. */
const CUDA_HINTS: Readonly<Record<string, string>> = {
  cudaErrorInsufficientDriver:
    'no NVIDIA driver is loaded (or it is older than the CUDA runtime this addon was built with)',
  cudaErrorNoDevice: 'no CUDA-capable GPU is visible (check CUDA_VISIBLE_DEVICES)',
  cudaErrorMemoryAllocation: 'the device has not enough free memory for this allocation',
};

/** A hint for a CUDA error name, or '' when there is none. */
export function cudaHint(name: string): string {
  return CUDA_HINTS[name] ?? '';
}

/** Turns an error thrown by the addon into a CudaFfiError / CudaError; anything else passes. */
export function fromNative(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const fields = error as Error & NativeErrorFields;
  if (typeof fields.cudaError === 'string') {
    const operation = typeof fields.operation === 'string' ? fields.operation : 'unknown';
    if (fields.cudaError === 'CUDA_NOT_BUILT') {
      return new CudaFfiError('CUDA_NOT_BUILT', error.message, { cause: error });
    }
    const hint = cudaHint(fields.cudaError);
    return new CudaError(
      fields.cudaError as CudaErrorName,
      operation,
      hint === '' ? error.message : `${error.message} (${hint})`,
      { cause: error },
    );
  }
  if (typeof fields.code === 'string' && NATIVE_CODES.has(fields.code)) {
    return new CudaFfiError(fields.code as CudaFfiErrorCode, error.message, {
      argument: typeof fields.argument === 'string' ? fields.argument : undefined,
      cause: error,
    });
  }
  return error;
}

/** Calls into the addon, translating its errors. */
export function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw fromNative(error);
  }
}
