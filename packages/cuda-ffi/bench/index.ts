/**
 * pnpm bench: every number is a ratio against a named baseline measured in the same run
 * (the machine is shared and noisy). Median of several rounds.
 *
 * 1. mock write throughput (host -> mock device copies, 16 MiB chunks) vs Buffer.prototype.set
 *    into a plain Buffer of the same size
 * 2. native treeDigest of 256 MiB (64 KiB leaves, OpenSSL SHA-256 on all cores) vs
 *    single-thread node:crypto sha256 of the same 256 MiB (flat)
 * 3. the portable __host__ __device__ kernel core on the CPU vs node:crypto sha256 (why it is a
 *    cross-check and not the host fast path)
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { loadBackend } from '@vramseal/cuda-ffi';

const MiB = 2 ** 20;
const TOTAL = 256 * MiB;
const CHUNK = 16 * MiB;
const ROUNDS = 7;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function timeIt(fn: () => unknown | Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

interface Comparison {
  /** median seconds of the candidate and of the baseline */
  candidate: number;
  baseline: number;
  /** median of the per-round ratios baseline / candidate (> 1: candidate is faster) */
  ratio: number;
}

/**
 * Times candidate and baseline alternately, round by round, so both see the same background load
 * on this shared machine; the ratio is the median of the per-round ratios.
 */
async function compare(
  candidate: () => unknown | Promise<unknown>,
  baseline: () => unknown | Promise<unknown>,
): Promise<Comparison> {
  await candidate(); // warm-up (page faults, JIT, thread start)
  await baseline();
  const c: number[] = [];
  const b: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const tc = await timeIt(candidate);
    const tb = await timeIt(baseline);
    c.push(tc);
    b.push(tb);
    ratios.push(tb / tc);
  }
  return { candidate: median(c), baseline: median(b), ratio: median(ratios) };
}

const gbps = (bytes: number, seconds: number): string =>
  `${(bytes / seconds / 1e9).toFixed(2)} GB/s`;

const source = Buffer.alloc(TOTAL);
for (let i = 0; i < TOTAL; i += 4096) source.writeUInt32LE((i * 2654435761) >>> 0, i);

const backend = loadBackend({ kind: 'mock', mock: { devices: [{ totalBytes: 2 * TOTAL }] } });
const info = backend.backendInfo();
console.log(
  `vramseal cuda-ffi bench: node ${process.version}, ${availableParallelism()} CPUs, ` +
    `addon built with CUDA: ${info.builtWithCuda}, host hasher ${info.hostHasher}, ${info.hostThreads} threads`,
);

// 1. write throughput
const allocation = backend.allocate(0, TOTAL);
const plain = Buffer.alloc(TOTAL);
const write = await compare(
  () => {
    for (let offset = 0; offset < TOTAL; offset += CHUNK) {
      allocation.write(offset, source.subarray(offset, offset + CHUNK));
    }
  },
  () => {
    for (let offset = 0; offset < TOTAL; offset += CHUNK) {
      plain.set(source.subarray(offset, offset + CHUNK), offset);
    }
  },
);
console.log(
  `mock write 256 MiB in 16 MiB chunks: ${gbps(TOTAL, write.candidate)} vs Buffer.set ` +
    `${gbps(TOTAL, write.baseline)} -> ${write.ratio.toFixed(2)}x of a plain Buffer copy`,
);

// 2. tree digest vs single-thread flat sha256
const digest = await compare(
  () => allocation.treeDigest({ leafSize: 65536 }),
  () => createHash('sha256').update(source).digest(),
);
console.log(
  `native treeDigest 256 MiB (64 KiB leaves): ${gbps(TOTAL, digest.candidate)} vs node:crypto ` +
    `sha256 (1 thread) ${gbps(TOTAL, digest.baseline)} -> ${digest.ratio.toFixed(2)}x ` +
    '(target >= 1.7x on 2 cores)',
);
allocation.free();

// 3. portable kernel core on the CPU
const addon = createRequire(import.meta.url)(info.addonPath) as {
  portableTreeDigest(data: Uint8Array, leafSize: number): Uint8Array;
};
const sample = source.subarray(0, 32 * MiB);
const portable = await compare(
  () => addon.portableTreeDigest(sample, 65536),
  () => createHash('sha256').update(sample).digest(),
);
console.log(
  `portable kernel core (g++, 1 thread) 32 MiB: ${gbps(sample.length, portable.candidate)} vs ` +
    `node:crypto sha256 ${gbps(sample.length, portable.baseline)} -> ${portable.ratio.toFixed(2)}x`,
);

// 4. on a machine with a GPU: the CUDA kernel vs the host digest of the same bytes
if (info.cudaUnavailable === null) {
  const gpu = loadBackend({ kind: 'cuda' });
  const onDevice = gpu.allocate(0, TOTAL);
  const upload = await compare(
    () => onDevice.write(0, source),
    () => plain.set(source),
  );
  console.log(
    `cuda write 256 MiB (pageable cudaMemcpy H2D): ${gbps(TOTAL, upload.candidate)} vs Buffer.set ` +
      `${gbps(TOTAL, upload.baseline)} -> ${upload.ratio.toFixed(2)}x`,
  );
  const host = backend.allocate(0, TOTAL);
  host.write(0, source);
  const kernel = await compare(
    () => onDevice.treeDigest({ leafSize: 65536 }),
    () => host.treeDigest({ leafSize: 65536 }),
  );
  console.log(
    `cuda treeDigest 256 MiB (64 KiB leaves, ${gpu.deviceInfo(0).name}): ${gbps(TOTAL, kernel.candidate)} ` +
      `vs native host treeDigest ${gbps(TOTAL, kernel.baseline)} -> ${kernel.ratio.toFixed(2)}x`,
  );
  host.free();
  onDevice.free();
} else {
  console.log(`cuda cases skipped: no CUDA device answered (${info.cudaUnavailable.error})`);
}
