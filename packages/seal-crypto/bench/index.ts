// pnpm bench: throughput of seal-crypto's hashing against named baselines, all measured in this
// one run on the same bytes (the machine is shared and noisy, so only the ratios are comparable).
// Each case runs interleaved with its baseline for several rounds. Printed: MB/s of the median
// round, and the ratio to the baseline for the median and for the best (fastest) round of each:
// other processes on the machine slow some rounds, and the best round is the least disturbed.
import { createHash, createHmac, randomFillSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import {
  deriveKey,
  hmacSha256,
  type SealFields,
  sha256,
  shutdownTreeDigestPool,
  signSeal,
  treeDigest,
  treeDigestSync,
} from '@vramseal/seal-crypto';

const MiB = 2 ** 20;
// BENCH_ROUNDS sets the rounds; BENCH_VERBOSE=1 also prints every round's time.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

interface Case {
  name: string;
  bytes: number;
  run: () => unknown | Promise<unknown>;
}

async function timeOnce(c: Case): Promise<number> {
  const start = process.hrtime.bigint();
  await c.run();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface Timing {
  median: number;
  best: number;
}

/** Busy CPU-seconds of the whole machine so far (Linux /proc/stat; 0 elsewhere). */
function machineBusySeconds(): number {
  if (!existsSync('/proc/stat')) return 0;
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1);
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100
  );
}

/** Share of the CPUs other processes used during the last compare(): ratios mean little above ~5%. */
let otherLoad = '';

async function compare(cases: Case[], rounds = ROUNDS): Promise<Timing[]> {
  const wallStart = process.hrtime.bigint();
  const busyStart = machineBusySeconds();
  const ownStart = process.cpuUsage();
  const timings = await measure(cases, rounds);
  const wall = Number(process.hrtime.bigint() - wallStart) / 1e9;
  const own = process.cpuUsage(ownStart);
  const others = machineBusySeconds() - busyStart - (own.user + own.system) / 1e6;
  const share = Math.max(0, others / (wall * availableParallelism()));
  otherLoad = existsSync('/proc/stat')
    ? ` [other processes: ${(share * 100).toFixed(0)}% of the CPUs]`
    : '';
  return timings;
}

/** Runs the cases round-robin, `rounds` times after one warm-up; seconds per case. */
async function measure(cases: Case[], rounds: number): Promise<Timing[]> {
  for (const c of cases) await timeOnce(c);
  const samples: number[][] = cases.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < cases.length; i++) samples[i]!.push(await timeOnce(cases[i]!));
  }
  if (process.env.BENCH_VERBOSE) {
    cases.forEach((c, i) => {
      const rounds = samples[i]!.map((s) => (s * 1e3).toFixed(0)).join(' ');
      console.log(`    rounds (ms) of ${c.name}: ${rounds}`);
    });
  }
  return samples.map((s) => ({ median: median(s), best: Math.min(...s) }));
}

function ratios(baseline: Timing, t: Timing): string {
  const med = (baseline.median / t.median).toFixed(2);
  const best = (baseline.best / t.best).toFixed(2);
  return `${med}x baseline (best rounds: ${best}x)`;
}

function report(title: string, cases: Case[], timings: Timing[]): void {
  console.log(`\n${title}${otherLoad}`);
  const baseline = timings[0]!;
  cases.forEach((c, i) => {
    const t = timings[i]!;
    const mbps = (c.bytes / 1e6 / t.median).toFixed(0).padStart(6);
    const ms = (t.median * 1e3).toFixed(1).padStart(7);
    const tag = i === 0 ? '(baseline)' : ratios(baseline, t);
    console.log(`  ${c.name.padEnd(46)} ${mbps} MB/s ${ms} ms  ${tag}`);
  });
}

function opsReport(title: string, cases: Case[], timings: Timing[], ops: number): void {
  console.log(`\n${title}${otherLoad}`);
  const baseline = timings[0]!;
  cases.forEach((c, i) => {
    const t = timings[i]!;
    const perSecond = Math.round(ops / t.median)
      .toLocaleString('en-US')
      .padStart(10);
    const tag = i === 0 ? '(baseline)' : ratios(baseline, t);
    console.log(`  ${c.name.padEnd(46)} ${perSecond} ops/s  ${tag}`);
  });
}

const big = randomFillSync(new Uint8Array(256 * MiB));
const sharedBig = new Uint8Array(new SharedArrayBuffer(big.length));
sharedBig.set(big);
const nobleSlice = big.subarray(0, 32 * MiB);
const key = deriveKey('bench-token-5b1e0c7d9a3f4e2b8c6d', 'seal');
const keyBytes = randomFillSync(new Uint8Array(32));

console.log(
  `seal-crypto bench: node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), median of ${ROUNDS} rounds`,
);

// 1. Flat SHA-256: our wrapper against node:crypto called directly, and against @noble/hashes.
{
  const cases: Case[] = [
    {
      name: 'node:crypto createHash().update().digest()',
      bytes: big.length,
      run: () => createHash('sha256').update(big).digest(),
    },
    { name: 'seal-crypto sha256()', bytes: big.length, run: () => sha256(big) },
  ];
  report('sha256, 256 MiB, one call', cases, await compare(cases));
  const nobleCases: Case[] = [
    {
      name: '@noble/hashes sha256() (32 MiB)',
      bytes: nobleSlice.length,
      run: () => nobleSha256(nobleSlice),
    },
    {
      name: 'seal-crypto sha256() (32 MiB)',
      bytes: nobleSlice.length,
      run: () => sha256(nobleSlice),
    },
  ];
  report('sha256 vs @noble/hashes, 32 MiB', nobleCases, await compare(nobleCases, 3));
}

// 2. Tree digest of 256 MiB (64 KiB leaves) against one flat single-thread SHA-256 of the same bytes.
{
  const cases: Case[] = [
    {
      name: 'node:crypto sha256, single thread',
      bytes: big.length,
      run: () => createHash('sha256').update(big).digest(),
    },
    { name: 'treeDigestSync() (one thread)', bytes: big.length, run: () => treeDigestSync(big) },
    {
      name: `treeDigest() (${availableParallelism()} workers, copies)`,
      bytes: big.length,
      run: () => treeDigest(big),
    },
    {
      name: 'treeDigest() on a SharedArrayBuffer (no copy)',
      bytes: big.length,
      run: () => treeDigest(sharedBig),
    },
  ];
  report('tree digest (sha256-tree-v1, 64 KiB leaves), 256 MiB', cases, await compare(cases));
}

// 3. HMAC-SHA256: bulk, and the small messages seals and audit lines actually MAC.
{
  const cases: Case[] = [
    {
      name: 'node:crypto createHmac() (raw key)',
      bytes: big.length,
      run: () => createHmac('sha256', keyBytes).update(big).digest(),
    },
    {
      name: 'seal-crypto hmacSha256(SecretKey)',
      bytes: big.length,
      run: () => hmacSha256(key, big),
    },
  ];
  report('hmac-sha256, 256 MiB', cases, await compare(cases));
  const nobleCases: Case[] = [
    {
      name: '@noble/hashes hmac(sha256) (32 MiB)',
      bytes: nobleSlice.length,
      run: () => nobleHmac(nobleSha256, keyBytes, nobleSlice),
    },
    {
      name: 'seal-crypto hmacSha256() (32 MiB)',
      bytes: nobleSlice.length,
      run: () => hmacSha256(key, nobleSlice),
    },
  ];
  report('hmac-sha256 vs @noble/hashes, 32 MiB', nobleCases, await compare(nobleCases, 3));

  const message = randomFillSync(new Uint8Array(256));
  const fields: SealFields = {
    keyId: key.id,
    shardId: 'model/shard-0001',
    device: 0,
    byteLength: 1 << 30,
    digest: sha256(message),
    treeRoot: sha256(big.subarray(0, 64)),
    leafSize: 65_536,
    sealedAt: Date.now(),
    modelRef: 'org/model@rev',
    shardIndex: 1,
    totalShards: 8,
  };
  const N = 50_000;
  const small: Case[] = [
    {
      name: 'node:crypto createHmac(), 256 B',
      bytes: 0,
      run: () => {
        for (let i = 0; i < N; i++) createHmac('sha256', keyBytes).update(message).digest();
      },
    },
    {
      name: 'seal-crypto hmacSha256(SecretKey), 256 B',
      bytes: 0,
      run: () => {
        for (let i = 0; i < N; i++) hmacSha256(key, message);
      },
    },
    {
      name: 'seal-crypto signSeal() (encode + HMAC)',
      bytes: 0,
      run: () => {
        for (let i = 0; i < N; i++) signSeal(key, fields);
      },
    },
  ];
  opsReport('hmac-sha256, small messages', small, await compare(small, 5), N);
}

await shutdownTreeDigestPool();
