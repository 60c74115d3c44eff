/**
 * pnpm bench (in packages/vram-manager): the manager's seal and verify against node:crypto's
 * single-thread SHA-256 of the same bytes, measured in the same run, candidate and baseline
 * alternating round by round (this machine is shared and noisy; absolute times mean little).
 *
 * 1. sealModel of 256 MiB from memory vs sha256 of the 256 MiB. The flat digest is the floor of a
 *    seal (it is one sequential stream), so the tree must be hashed while it runs: target >= 0.8x.
 *    Next to it, the same allocation, device copies and flat hash without any tree, to show what
 *    the tree adds.
 * 2. verifySealed of that shard vs the same sha256: target >= 1.6x on 2 cores.
 * 3. deep verify (tree root and flat digest, reading the memory back) vs the same sha256.
 * 4. per-call latency of verifying 10 shards of 1 MiB one after another, vs sha256 of 1 MiB.
 * 5. sealModel from a 256 MiB file (page cache warm) vs reading it + sha256.
 *
 * Backend: the mock (host memory, native threads) unless VRAMSEAL_BACKEND=cuda. Narration goes
 * to a discarding destination at info level (it is on, as in production); no audit logger (its
 * routine events are off the operation's path by design; its own benchmark is in audit-logging).
 */
import { createHash, randomFillSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBackend } from '@vramseal/cuda-ffi';
import { createNarrator } from '@vramseal/narration-core';
import { VramManager } from '@vramseal/vram-manager';

const MiB = 2 ** 20;
const SIZE = 256 * MiB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const kind = process.env.VRAMSEAL_BACKEND === 'cuda' ? 'cuda' : 'mock';

interface Result {
  candidate: number;
  baseline: number;
  /** Median over rounds of baseline time / candidate time (> 1: the candidate is faster). */
  ratio: number;
  /** Share of the CPUs that other processes used meanwhile (from /proc/stat). */
  otherLoad: number | null;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Busy CPU-seconds of the whole machine so far (Linux /proc/stat). */
function machineBusySeconds(): number | null {
  if (!existsSync('/proc/stat')) return null;
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1);
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100
  );
}

async function seconds(fn: () => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function compare(candidate: () => unknown, baseline: () => unknown): Promise<Result> {
  await candidate(); // warm-up: page faults, JIT, thread start
  await baseline();
  const busyStart = machineBusySeconds();
  const ownStart = process.cpuUsage();
  const wallStart = process.hrtime.bigint();
  const c: number[] = [];
  const b: number[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const tc = await seconds(candidate);
    const tb = await seconds(baseline);
    c.push(tc);
    b.push(tb);
    ratios.push(tb / tc);
  }
  const wall = Number(process.hrtime.bigint() - wallStart) / 1e9;
  const own = process.cpuUsage(ownStart);
  const busyEnd = machineBusySeconds();
  const otherLoad =
    busyStart === null || busyEnd === null
      ? null
      : Math.max(
          0,
          (busyEnd - busyStart - (own.user + own.system) / 1e6) / (wall * availableParallelism()),
        );
  if (process.env.BENCH_VERBOSE) {
    console.log(`    candidate rounds (ms): ${c.map((s) => (s * 1e3).toFixed(1)).join(' ')}`);
    console.log(`    baseline rounds (ms):  ${b.map((s) => (s * 1e3).toFixed(1)).join(' ')}`);
  }
  return { candidate: median(c), baseline: median(b), ratio: median(ratios), otherLoad };
}

const rate = (bytes: number, s: number) => `${(bytes / s / 1e6).toFixed(0).padStart(5)} MB/s`;
const load = (r: Result) =>
  r.otherLoad === null ? '' : ` [other processes: ${(r.otherLoad * 100).toFixed(0)}% of the CPUs]`;

function report(
  title: string,
  r: Result,
  bytes: number,
  baselineName: string,
  target: string,
  candidateName = 'vram-manager',
): void {
  console.log(`\n${title}${load(r)}`);
  console.log(
    `  ${baselineName.padEnd(44)} ${rate(bytes, r.baseline)} ${(r.baseline * 1e3).toFixed(1).padStart(7)} ms  (baseline)`,
  );
  console.log(
    `  ${candidateName.padEnd(44)} ${rate(bytes, r.candidate)} ${(r.candidate * 1e3).toFixed(1).padStart(7)} ms  ${r.ratio.toFixed(2)}x baseline${target}`,
  );
}

const backend =
  kind === 'cuda'
    ? loadBackend({ kind: 'cuda' })
    : loadBackend({ kind: 'mock', mock: { devices: [{ name: 'mock-0', totalBytes: 4 * SIZE }] } });
const manager = await VramManager.create({
  backend,
  workerToken: 'bench-worker-token-5f0c2a7e9b1d4386',
  workerId: 'bench',
  narrator: createNarrator({ actor: 'bench', destination: { write() {} }, onInvalid: 'repair' }),
});

const info = backend.backendInfo();
console.log(
  `vramseal vram-manager bench: node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model.trim()}), ` +
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, backend ${info.kind}` +
    `${kind === 'cuda' ? ` (${backend.deviceInfo(0).name})` : ` (host hasher ${info.hostHasher}, ${info.hostThreads} threads)`}, ` +
    `median of ${ROUNDS} interleaved rounds`,
);

const data = new Uint8Array(SIZE);
randomFillSync(data);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest();

// 1. seal from memory, and the same pipeline without a tree (where the time goes)
const seal = await compare(
  async () => manager.deallocate(await manager.sealModel(data)),
  () => sha256(data),
);
report(
  'sealModel, 256 MiB from memory',
  seal,
  SIZE,
  'node:crypto sha256 (one thread)',
  ' (target >= 0.8x)',
);
const CHUNK = 4 * MiB;
const copyAndHash = await compare(
  () => {
    const allocation = backend.allocate(0, SIZE);
    const hash = createHash('sha256');
    for (let offset = 0; offset < SIZE; offset += CHUNK) {
      const chunk = data.subarray(offset, offset + CHUNK);
      allocation.write(offset, chunk);
      hash.update(chunk);
    }
    hash.digest();
    allocation.free();
  },
  () => sha256(data),
);
report(
  'for comparison: the same without any tree',
  copyAndHash,
  SIZE,
  'node:crypto sha256 (one thread)',
  '',
  'allocate, copy to the device, sha256',
);

// 2 and 3. verify, plain and deep
const shard = await manager.sealModel(data, { shardId: 'bench-256' });
const verify = await compare(
  () => manager.verifySealed(shard),
  () => sha256(data),
);
report(
  'verifySealed, 256 MiB',
  verify,
  SIZE,
  'node:crypto sha256 (one thread)',
  ' (target >= 1.6x on 2 cores)',
);
const deep = await compare(
  () => manager.verifySealed(shard, { deep: true }),
  () => sha256(data),
);
report('verifySealed { deep: true }, 256 MiB', deep, SIZE, 'node:crypto sha256 (one thread)', '');
await manager.deallocate(shard);

// 4. latency of small verifies
const small = await Promise.all(
  Array.from({ length: 10 }, (_, i) =>
    manager.sealModel(data.subarray(i * MiB, (i + 1) * MiB), { shardId: `small-${i}` }),
  ),
);
const latency = await compare(
  async () => {
    for (const s of small) await manager.verifySealed(s);
  },
  () => {
    for (let i = 0; i < 10; i++) sha256(data.subarray(i * MiB, (i + 1) * MiB));
  },
);
console.log(`\nverifySealed of 10 shards of 1 MiB, one after another${load(latency)}`);
console.log(
  `  ${'node:crypto sha256 of 1 MiB (one thread)'.padEnd(44)} ${((latency.baseline / 10) * 1e6).toFixed(0).padStart(6)} us per call  (baseline)`,
);
console.log(
  `  ${'vram-manager verifySealed'.padEnd(44)} ${((latency.candidate / 10) * 1e6).toFixed(0).padStart(6)} us per call  ${latency.ratio.toFixed(2)}x baseline`,
);
for (const s of small) await manager.deallocate(s);

// 5. seal from a file
const dir = mkdtempSync(join(tmpdir(), 'vram-manager-bench-'));
try {
  const file = join(dir, 'model.safetensors');
  writeFileSync(file, data);
  const fromFile = await compare(
    async () => manager.deallocate(await manager.sealModel(file)),
    async () => {
      const handle = await open(file, 'r');
      try {
        const hash = createHash('sha256');
        const buffer = Buffer.allocUnsafe(4 * MiB);
        for (let position = 0; position < SIZE; position += buffer.length) {
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
          hash.update(buffer.subarray(0, bytesRead));
        }
        hash.digest();
      } finally {
        await handle.close();
      }
    },
  );
  report(
    'sealModel, 256 MiB from a file (page cache warm)',
    fromFile,
    SIZE,
    'read the file + node:crypto sha256',
    '',
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

await manager.close();
