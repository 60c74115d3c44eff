/**
 * The codes the addon sets on the errors it throws (`code_name` in native/src/core/error.h, all but
 * its CUDA_ERROR, which becomes a {@link CudaError} named after the CUDA error instead).
 */
export const NATIVE_ERROR_CODES = [
  'INVALID_ARGUMENT',
  'OUT_OF_BOUNDS',
  'USE_AFTER_FREE',
  'INVALID_HANDLE',
  'INVALID_DEVICE',
  'ALLOCATION_BUSY',
  'UNSUPPORTED',
] as const;

/**
 * Every stable code of the argument, handle and availability errors this package throws: the
 * addon's, and the two only the TypeScript side raises (the addon cannot load; it was built
 * without CUDA). CUDA failures are {@link CudaError}s whose code is the CUDA error name instead.
 */
export const CUDA_FFI_ERROR_CODES = [
  ...NATIVE_ERROR_CODES,
  'NATIVE_UNAVAILABLE',
  'CUDA_NOT_BUILT',
] as const;

export type CudaFfiErrorCode = (typeof CUDA_FFI_ERROR_CODES)[number];

/**
 * The one base class for this package's errors. `code` is stable and meant for programs;
 * `argument` names the offending argument where there is one; `message` says what was wrong and
 * what to do. Messages never contain device pointers or host addresses.
 */
export class CudaFfiError extends Error {
  readonly code: CudaFfiErrorCode | CudaErrorName;
  readonly argument: string | undefined;

  constructor(
    code: CudaFfiErrorCode | CudaErrorName,
    message: string,
    options?: { argument?: string; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.argument = options?.argument;
  }
}

/** A CUDA runtime error name, e.g. `cudaErrorMemoryAllocation`. */
export type CudaErrorName = `cudaError${string}`;

/**
 * A CUDA call failed (or, on the mock backend, its imitation of `cudaMalloc` did: running out of
 * capacity or an injected failure). `code` is the CUDA error name and `operation` the CUDA API
 * that failed, e.g. `cudaMalloc`, `cudaGetDeviceCount`, or `mock.cudaMalloc` on the mock.
 */
export class CudaError extends CudaFfiError {
  declare readonly code: CudaErrorName;
  readonly operation: string;

  constructor(
    code: CudaErrorName,
    operation: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.operation = operation;
  }
}
