export {
  type AllocationAttributes,
  DeviceAllocation,
  LEAK_WARNING_CODE,
  MAX_DIGEST_BATCH,
  type MemoryType,
  type TreeDigestOptions,
  type TreeDigestRequest,
} from './allocation/allocation.js';
export {
  type Backend,
  type BackendInfo,
  type BackendKind,
  type DeviceInfo,
  type LoadBackendOptions,
  loadBackend,
  type MemInfo,
  type MockDeviceConfig,
} from './backend/backend.js';
export {
  CUDA_FFI_ERROR_CODES,
  CudaError,
  type CudaErrorName,
  CudaFfiError,
  type CudaFfiErrorCode,
} from './errors/errors.js';
export { NATIVE_PATH_ENV } from './native/loader.js';
