// Is there a CUDA device to check? One answer for test.mjs, bench.mjs and sanitize.mjs, and the
// backend the tests use.
//
// Rehearsal (VRAMSEAL_GPU_REHEARSAL=1, `test.mjs --rehearse`): on a machine without a GPU the
// tests run against a stand-in, the mock backend presenting itself as a discrete GPU (kind
// 'cuda', device memory in its pointer attributes, corrupt() only with allowFaultInjection),
// with large sizes capped at 64 MiB. It checks the checks (their logic, the APIs they call, the
// stage), so a GPU's few minutes are not spent on a typo. It proves nothing about a GPU.
import { CudaFfiError, loadBackend } from '@vramseal/cuda-ffi';

export const REHEARSAL = process.env.VRAMSEAL_GPU_REHEARSAL === '1';

const MiB = 2 ** 20;

/** A size for a test: as given on a GPU; capped at 64 MiB (keeping the odd tail) in a rehearsal. */
export function size(bytes) {
  return REHEARSAL && bytes > 64 * MiB ? 64 * MiB + (bytes % MiB) : bytes;
}

/** The cuda backend (or, in a rehearsal, the stand-in). Throws when no device answers. */
export function gpuBackend({ allowFaultInjection = false } = {}) {
  if (REHEARSAL) return standIn(allowFaultInjection);
  return loadBackend({ kind: 'cuda', allowFaultInjection });
}

/**
 * `{ ok: true, backend }` with a cuda backend (fault injection allowed: the tamper checks need
 * it), or `{ ok: false, reason }` saying why none answered: no driver, an addon built without
 * nvcc (CUDA_NOT_BUILT), an addon that does not load (NATIVE_UNAVAILABLE).
 */
export function probeCuda() {
  try {
    return { ok: true, backend: gpuBackend({ allowFaultInjection: true }) };
  } catch (error) {
    const code = typeof error?.code === 'string' ? `${error.code}: ` : '';
    return { ok: false, reason: `${code}${error?.message ?? String(error)}` };
  }
}

/** One line about the device and the addon, for the top of every report. */
export function describeDevice(backend) {
  const info = backend.backendInfo();
  const device = backend.deviceInfo(0);
  const what =
    `${device.name} (cc ${device.computeCapability}, ${device.multiProcessorCount} SMs, ` +
    `${(device.totalBytes / 2 ** 30).toFixed(1)} GiB), driver ${info.cudaDriverVersion}, ` +
    `runtime ${info.cudaRuntimeVersion}, addon built for sm_${info.cudaArchitectures.join('/')}`;
  return REHEARSAL ? `REHEARSAL on the mock backend, no GPU: ${what}` : what;
}

/** The mock, presenting the facts of a discrete GPU (see the top of this file). */
function standIn(allowFaultInjection) {
  const inner = loadBackend({
    kind: 'mock',
    mock: { devices: [{ name: 'stand-in', totalBytes: 8 * 2 ** 30 }] },
  });
  const allocation = (mine) =>
    new Proxy(mine, {
      get(target, property) {
        if (property === 'attributes') return () => ({ memoryType: 'device', hostPointer: false });
        if (property === 'corrupt' && !allowFaultInjection) {
          return () => {
            throw new CudaFfiError(
              'UNSUPPORTED',
              'corrupt() needs allowFaultInjection (stand-in)',
              {
                argument: 'allowFaultInjection',
              },
            );
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  const real = new WeakMap(); // stand-in allocation -> the mock's own, for treeDigestMany
  return new Proxy(inner, {
    get(target, property) {
      switch (property) {
        case 'kind':
          return 'cuda';
        case 'isVramOnly':
          return () => true;
        case 'allocate':
          return (device, bytes) => {
            const mine = target.allocate(device, bytes);
            const wrapped = allocation(mine);
            real.set(wrapped, mine);
            return wrapped;
          };
        case 'treeDigestMany':
          return (items) =>
            target.treeDigestMany(
              items.map((item) => ({
                ...item,
                allocation: real.get(item.allocation) ?? item.allocation,
              })),
            );
        case 'deviceInfo':
          return (device) => ({
            ...target.deviceInfo(device),
            name: 'stand-in GPU (mock)',
            uuid: target.deviceInfo(device).uuid.replace(/^MOCK-/, 'GPU-'),
            computeCapability: '9.0',
            multiProcessorCount: 132,
          });
        case 'backendInfo':
          return () => ({
            ...target.backendInfo(),
            kind: 'cuda',
            builtWithCuda: true,
            cudaArchitectures: ['stand-in'],
            cudaDeviceCount: 1,
            cudaUnavailable: null,
            faultInjection: allowFaultInjection,
          });
        default: {
          const value = Reflect.get(target, property, target);
          return typeof value === 'function' ? value.bind(target) : value;
        }
      }
    },
  });
}
