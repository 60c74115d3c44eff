import { formatBytes, shortId } from '../observe/narration.js';

/**
 * The `human` sentences of the manager's narration, in one place so they read alike: what
 * happened, to which shard (shortened id), where, and the number an operator looks for. Each is
 * cut to the narration limit by the narrator wrapper, never by chance.
 */
export const say = {
  init: (workerId: string, kind: string, devices: number) =>
    `VRAM manager for worker ${shortId(workerId)} is ready on the ${kind} backend with ${devices} device(s).`,
  cudaInit: (devices: number, name: string) =>
    `Using the CUDA backend: ${devices} GPU(s), device 0 is ${name}.`,
  mockInit: () => 'No GPU in use: the mock backend keeps shards in host memory (development only).',
  allocate: (id: string, bytes: number, device: number) =>
    `Allocated ${formatBytes(bytes)} on device ${device} for shard ${shortId(id)}.`,
  allocateFailed: (id: string, bytes: number, device: number, available: number) =>
    `Cannot fit shard ${shortId(id)} (${formatBytes(bytes)}) on device ${device}: ${formatBytes(available)} available.`,
  cudaAllocateFailed: (id: string, bytes: number, device: number) =>
    `The device refused ${formatBytes(bytes)} for shard ${shortId(id)} on device ${device}.`,
  digest: (id: string, bytes: number, root: string) =>
    `Hashed shard ${shortId(id)} (${formatBytes(bytes)}): tree root ${root.slice(0, 12)}… from device memory.`,
  sign: (id: string, keyId: string) =>
    `Signed the seal of shard ${shortId(id)} with seal key ${keyId}.`,
  seal: (id: string, bytes: number, device: number, ms: number) =>
    `Sealed shard ${shortId(id)} (${formatBytes(bytes)}) on device ${device} in ${Math.round(ms)} ms.`,
  sealFailed: (id: string, why: string) => `Sealing shard ${shortId(id)} failed: ${why}.`,
  digestMismatch: (id: string) =>
    `Refused shard ${shortId(id)}: its SHA-256 differs from the expected one.`,
  verify: (id: string, device: number, deep: boolean) =>
    `Verified shard ${shortId(id)} on device ${device} against its seal${deep ? ', flat digest included' : ''}.`,
  verifyFailed: (id: string, check: string) =>
    `Shard ${shortId(id)} failed its ${check} check: the manager stopped serving.`,
  deallocate: (id: string, bytes: number, device: number) =>
    `Released ${formatBytes(bytes)} of shard ${shortId(id)} on device ${device}.`,
  deallocateFailed: (id: string) =>
    `Could not release the memory of shard ${shortId(id)}; the device may be in a bad state.`,
  validateFailed: (operation: string, argument: string) =>
    `Refused a ${operation} request: ${argument} is not valid.`,
  traversal: () => 'Refused a shard id that tries to name a path (path traversal attempt).',
  capacity: (device: number, available: number, total: number) =>
    `Device ${device} has ${formatBytes(available)} available of ${formatBytes(total)}.`,
  policyViolation: (detail: string) => `VRAM-only policy violated: ${detail}`,
  reset: (operator: string) =>
    `Operator ${shortId(operator, 24)} reset the manager: it seals and verifies again.`,
  resetNoop: () => 'Reset asked while the manager was ready: nothing to do.',
  attest: (id: string, memoryType: string, device: string) =>
    `Attested shard ${shortId(id)} resident in ${memoryType} memory of ${device}.`,
  fault: (id: string, offset: number) =>
    `Fault injected: flipped bits at byte ${offset} of shard ${shortId(id)}.`,
  close: (shards: number) => `VRAM manager closed; released ${shards} shard(s).`,
  auditFailed: () => 'An audit record could not be written; the operation went on.',
};
