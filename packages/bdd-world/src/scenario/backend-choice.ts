import { type Backend, loadBackend } from '@vramseal/cuda-ffi';

/** Which backend the scenarios run on, and why: printed in the proof bundle's index. */
export interface BackendChoice {
  readonly kind: 'cuda' | 'mock';
  readonly reason: string;
}

let chosen: BackendChoice | undefined;

/**
 * The mock by default. `VRAMSEAL_BACKEND=cuda` asks for the GPU: used when a CUDA device answers,
 * otherwise the run falls back to the mock and says why (the @gpu scenarios are then left out).
 * Any other value is a mistake and fails the run at once.
 */
export function chooseBackend(env: NodeJS.ProcessEnv = process.env): BackendChoice {
  if (chosen && env === process.env) return chosen;
  const wanted = env.VRAMSEAL_BACKEND ?? 'mock';
  let choice: BackendChoice;
  if (wanted === 'mock' || wanted === '') {
    choice = {
      kind: 'mock',
      reason: 'the mock is the default; set VRAMSEAL_BACKEND=cuda to run on a GPU',
    };
  } else if (wanted === 'cuda') {
    choice = probeCuda();
  } else {
    throw new Error(
      `VRAMSEAL_BACKEND must be 'mock' or 'cuda', got ${JSON.stringify(wanted)}: unset it for the mock`,
    );
  }
  if (env === process.env) chosen = choice;
  return choice;
}

function probeCuda(): BackendChoice {
  try {
    const backend = loadBackend({ kind: 'cuda' });
    const count = backend.deviceCount();
    if (count > 0) {
      const name = backend.deviceInfo(0).name;
      return { kind: 'cuda', reason: `VRAMSEAL_BACKEND=cuda: ${count} device(s), ${name} first` };
    }
    return {
      kind: 'mock',
      reason: 'VRAMSEAL_BACKEND=cuda, but the CUDA backend reports no device',
    };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { kind: 'mock', reason: `VRAMSEAL_BACKEND=cuda, but no CUDA device answered (${why})` };
  }
}

/** Default device of a mock scenario: one 256 MiB device (host memory is committed lazily). */
export const DEFAULT_MOCK_DEVICES: readonly number[] = [256 * 1024 * 1024];

/** A fresh mock backend with these device sizes (bytes), two digest threads as on this VM. */
export function mockBackend(devices: readonly number[] = DEFAULT_MOCK_DEVICES): Backend {
  return loadBackend({
    kind: 'mock',
    mock: {
      devices: devices.map((totalBytes, i) => ({ name: `mock-${i}`, totalBytes })),
      digestThreads: 2,
    },
  });
}

/** The backend a scenario gets when it does not ask for mock devices of a given size. */
export function scenarioBackend(): Backend {
  return chooseBackend().kind === 'cuda'
    ? loadBackend({ kind: 'cuda', allowFaultInjection: true })
    : mockBackend();
}
