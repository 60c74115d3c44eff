import { randomBytes } from 'node:crypto';
import type { BackendInfo } from '@vramseal/cuda-ffi';
import { deriveKey } from '@vramseal/seal-crypto';
import { type DeviceReport, VramManager } from '@vramseal/vram-manager';
import { EXIT_CODES, type ExitCode } from '../errors.js';
import { type BackendChoice, openBackend } from '../session/session.js';
import { formatBytes } from '../terminal/format.js';
import type { Terminal } from '../terminal/terminal.js';

export interface DevicesOptions {
  backend: BackendChoice;
}

/** The facts of the backend a person needs to trust (or distrust) the device list. */
function backendSummary(info: BackendInfo) {
  return {
    kind: info.kind,
    selectedBecause: info.selectedBecause,
    builtWithCuda: info.builtWithCuda,
    cudaArchitectures: info.cudaArchitectures,
    cudaRuntimeVersion: info.cudaRuntimeVersion,
    cudaDriverVersion: info.cudaDriverVersion,
    cudaDeviceCount: info.cudaDeviceCount,
    hostHasher: info.hostHasher,
    hostThreads: info.hostThreads,
  };
}

/**
 * `vramseal devices`: the backend and why it was chosen, then every device with its memory,
 * compute capability, UUID and VRAM-only verdict, as the manager judges them (its policy code,
 * not a second copy of it). The manager gets a random throwaway key: it seals nothing.
 */
export async function devicesCommand(term: Terminal, options: DevicesOptions): Promise<ExitCode> {
  const backend = openBackend(options.backend);
  const manager = await VramManager.create({
    backend,
    sealKey: deriveKey(randomBytes(32), 'seal'),
    workerId: 'vramseal-devices',
  });
  let devices: DeviceReport[];
  try {
    devices = manager.devices();
  } finally {
    await manager.close();
  }
  const info = backendSummary(backend.backendInfo());
  term.document({ backend: info, devices });

  const { paint } = term;
  term.line(`${paint('bold', 'backend')}  ${info.kind}: ${info.selectedBecause}`);
  const cuda = info.builtWithCuda
    ? `built with CUDA ${info.cudaRuntimeVersion} (sm ${info.cudaArchitectures.join(', ')}), driver ${info.cudaDriverVersion ?? 'none'}`
    : 'built without CUDA';
  term.line(
    `${paint('bold', 'addon')}    ${cuda}; host hashing ${info.hostHasher}, ${info.hostThreads} threads`,
  );
  for (const d of devices) {
    term.line();
    term.line(paint('bold', `device ${d.index}  ${d.name}`));
    term.line(
      `  memory      ${formatBytes(d.totalBytes)} total, ${formatBytes(d.availableBytes)} available`,
    );
    term.line(
      `  compute     ${d.computeCapability ?? '- (the mock has no compute capability)'}${d.integrated ? ', integrated' : ''}`,
    );
    term.line(`  uuid        ${d.uuid}`);
    const verdict = d.vramOnly.ok ? paint('green', 'yes') : paint('yellow', 'no');
    term.line(`  VRAM-only   ${verdict}: ${d.vramOnly.reason}`);
  }
  return EXIT_CODES.ok;
}
