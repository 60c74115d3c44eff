// bench:gpu: every figure of issue 11's goals, each beside a baseline measured in the same run on
// the same GPU, in well under 3 minutes. Device times come from CUDA events (the addon's bench
// hooks, native/src/addon/addon.cpp); call times from the JS clock around the public API.
//
//   node checks/bench.mjs [--json <file>] [--rehearse]
//
// No CUDA device: prints "no CUDA device: <reason>" and exits 0 (nothing to measure).
// --rehearse runs every section on the mock with wall-clock timers and small sizes: it checks the
// bench's code on a machine without a GPU; its figures measure nothing and must not be recorded.
import { randomFillSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
if (args.includes('--rehearse')) process.env.VRAMSEAL_GPU_REHEARSAL = '1';
const jsonAt = args.indexOf('--json');
const jsonOut = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
const { describeDevice, probeCuda, REHEARSAL } = await import('./device.mjs');

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
/** hashcat's SHA-256 on an H100 SXM: 16.2 G blocks/s x 64 bytes (not measured here; issue 11). */
const HASHCAT_H100_GBPS = 1030;

const probe = probeCuda();
if (!probe.ok) {
  console.log(`bench:gpu: no CUDA device: ${probe.reason}`);
  console.log('bench:gpu: nothing to measure');
  process.exit(0);
}
const backend = probe.backend;
const started = Date.now();
const here = dirname(fileURLToPath(import.meta.url));
let stageInfo = {};
try {
  stageInfo = JSON.parse(readFileSync(join(here, '..', 'STAGE.json'), 'utf8'));
} catch {
  // run outside a stage: no commit to report
}
console.log(`bench:gpu: ${describeDevice(backend)}`);
console.log(
  `bench:gpu: ${new Date().toISOString()}, node ${process.version}, commit ${stageInfo.commit ?? 'unknown'}; medians of the rounds shown`,
);
if (REHEARSAL)
  console.log(
    'bench:gpu: REHEARSAL: mock backend, wall clock, small sizes: these figures measure nothing',
  );

const size = (bytes) => (REHEARSAL ? Math.min(bytes, 32 * MiB) : bytes);
const ROUNDS = REHEARSAL ? 2 : 9;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const gbps = (bytes, ms) => bytes / (ms / 1000) / 1e9;
const fmtMs = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(0)} us` : `${ms.toFixed(2)} ms`);
const fmtBytes = (bytes) =>
  bytes >= GiB ? `${bytes / GiB} GiB` : bytes >= MiB ? `${bytes / MiB} MiB` : `${bytes / KiB} KiB`;
const figures = [];
const summary = [];

/** Median of `rounds` runs of `fn` (each returning milliseconds), after one warm-up. */
async function measure(fn, rounds = ROUNDS) {
  await fn();
  const ms = [];
  for (let i = 0; i < rounds; i++) ms.push(await fn());
  return median(ms);
}

async function wallMs(fn) {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function line(section, what, ms, bytes, note = '') {
  const rate = bytes === undefined ? '' : `${gbps(bytes, ms).toFixed(1).padStart(8)} GB/s`;
  console.log(
    `  ${what.padEnd(52)} ${fmtMs(ms).padStart(10)} ${rate}${note === '' ? '' : `  ${note}`}`,
  );
  figures.push({
    section,
    what,
    ms,
    bytes,
    gbps: bytes === undefined ? undefined : gbps(bytes, ms),
    note,
  });
}

/**
 * Device-time measurements through the addon's bench hooks, on a NativeBackend of their own
 * (same GPU). In a rehearsal: the mock through the public API, timed by the wall clock.
 */
function deviceTimer() {
  if (REHEARSAL) {
    return {
      clock: 'wall clock (rehearsal)',
      manyMs: (shards, leafSize) =>
        wallMs(() =>
          backend.treeDigestMany(shards.map((s) => ({ allocation: s.allocation, leafSize }))),
        ),
      allocate(bytes) {
        const a = backend.allocate(0, bytes);
        return {
          bytes,
          allocation: a,
          write: (offset, data) => a.write(offset, data),
          digestMs: (leafSize, offset, length) =>
            wallMs(() => a.treeDigest({ leafSize, offset, length })),
          writeMs: (data) => wallMs(() => a.write(0, data)),
          copyMs: () => wallMs(() => a.read(0, bytes)),
          free: () => a.free(),
        };
      },
    };
  }
  const addon = createRequire(import.meta.url)(backend.backendInfo().addonPath);
  const raw = new addon.NativeBackend('cuda', {});
  return {
    clock: 'device time (CUDA events)',
    manyMs: async (shards, leafSize) =>
      raw.benchTreeDigestMany(shards.map((s) => ({ handle: s.handle, leafSize }))).ms,
    allocate(bytes) {
      const handle = raw.allocate(0, bytes);
      return {
        bytes,
        write: (offset, data) => raw.write(handle, offset, data),
        digestMs: async (leafSize, offset, length) =>
          raw.benchTreeDigest(handle, leafSize, offset, length).ms,
        writeMs: async (data, source = 'pageable') => raw.benchWrite(handle, 0, data, source),
        pinnedWriteMs: async (data) => raw.benchWrite(handle, 0, data, 'pinned'),
        stagedWriteMs: async (data) => raw.benchWrite(handle, 0, data, 'staged'),
        handle,
        copyMs: async () => raw.benchDeviceCopy(handle),
        free: () => raw.free(handle),
      };
    },
  };
}
const timer = deviceTimer();

/** Fills an allocation with random bytes, 256 MiB at a time (the host never holds more). */
function fillRandom(allocation) {
  const piece = Buffer.allocUnsafe(Math.min(allocation.bytes, 256 * MiB));
  for (let at = 0; at < allocation.bytes; at += piece.length) {
    const n = Math.min(piece.length, allocation.bytes - at);
    allocation.write(at, randomFillSync(piece.subarray(0, n)));
  }
}

// ---- 1. upload --------------------------------------------------------------------------------
async function upload() {
  const bytes = size(GiB);
  console.log(
    `\n1. upload: host -> device, ${fmtBytes(bytes)} [goal: >= 0.8x pinned cudaMemcpy of the same bytes, off the JS thread]`,
  );
  const data = randomFillSync(Buffer.allocUnsafe(bytes));
  const target = timer.allocate(bytes);
  const pinned = REHEARSAL
    ? await measure(() => target.writeMs(data), 3)
    : await measure(() => target.pinnedWriteMs(data), 3);
  line('upload', 'pinned cudaMemcpy (baseline, device time)', pinned, bytes);
  const pageable = await measure(() => target.writeMs(data), 3);
  line(
    'upload',
    'pageable cudaMemcpy (device time)',
    pageable,
    bytes,
    `${(pinned / pageable).toFixed(2)}x pinned`,
  );
  if (!REHEARSAL) {
    const staged = await measure(() => target.stagedWriteMs(data), 3);
    line(
      'upload',
      'staging ring (device time)',
      staged,
      bytes,
      `${(pinned / staged).toFixed(2)}x pinned`,
    );
  }
  target.free();
  const shard = backend.allocate(0, bytes);
  const write = await measure(() => wallMs(() => shard.write(0, data)), 3);
  line(
    'upload',
    'allocation.write() (call time)',
    write,
    bytes,
    `${(pinned / write).toFixed(2)}x pinned`,
  );
  // writeAsync: the staging ring on a libuv thread; the event loop's longest stall is printed too.
  const shared = new Uint8Array(new SharedArrayBuffer(bytes));
  shared.set(data);
  let stall = 0;
  const writeAsync = await measure(async () => {
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      stall = Math.max(stall, now - last);
      last = now;
    }, 1);
    try {
      return await wallMs(() => shard.writeAsync(0, shared));
    } finally {
      clearInterval(ticker);
    }
  }, 3);
  line(
    'upload',
    'allocation.writeAsync() (call time)',
    writeAsync,
    bytes,
    `${(pinned / writeAsync).toFixed(2)}x pinned; event loop stalled <= ${stall.toFixed(1)} ms`,
  );
  summary.push([
    `upload ${fmtBytes(bytes)}, writeAsync() vs pinned cudaMemcpy`,
    `${(pinned / writeAsync).toFixed(2)}x`,
    '>= 0.8x',
    pinned / writeAsync >= 0.8,
  ]);
  summary.push([
    `upload ${fmtBytes(bytes)}, write() vs pinned cudaMemcpy`,
    `${(pinned / write).toFixed(2)}x`,
    '(for comparison)',
    pinned / write >= 0.8,
  ]);
  shard.free();
}

// ---- 2. latency -------------------------------------------------------------------------------
async function latency() {
  console.log(
    '\n2. latency: one shard, verify = tree digest [goal: 1 MiB <= 0.15 ms, 64 MiB <= 0.4 ms of device time]',
  );
  for (const bytes of [MiB, 64 * MiB]) {
    const shard = timer.allocate(bytes);
    fillRandom(shard);
    const copy = await measure(() => shard.copyMs());
    line('latency', `${fmtBytes(bytes)}: device-to-device copy (HBM reference)`, copy, bytes);
    const goal = bytes === MiB ? 0.15 : 0.4;
    for (const leafSize of [4 * KiB, 16 * KiB, 64 * KiB]) {
      const ms = await measure(() => shard.digestMs(leafSize));
      line(
        'latency',
        `${fmtBytes(bytes)}, ${fmtBytes(leafSize)} leaves: tree digest (${timer.clock.split(' (')[0]})`,
        ms,
        bytes,
        `goal <= ${goal} ms`,
      );
      summary.push([
        `verify ${fmtBytes(bytes)}, ${fmtBytes(leafSize)} leaves (device time)`,
        fmtMs(ms),
        `<= ${goal} ms`,
        ms <= goal,
      ]);
    }
    shard.free();
    const viaApi = backend.allocate(0, bytes);
    const call = await measure(() => wallMs(() => viaApi.treeDigest({ leafSize: 64 * KiB })));
    line(
      'latency',
      `${fmtBytes(bytes)}, 64 KiB leaves: treeDigest() call time`,
      call,
      bytes,
      'libuv round trip included',
    );
    viaApi.free();
  }
}

// ---- 3. batch ---------------------------------------------------------------------------------
async function batch() {
  const each = size(64 * MiB);
  const count = 8;
  const bytes = count * each;
  console.log(
    `\n3. batch: ${count} x ${fmtBytes(each)} [goal: >= 350 GB/s aggregate in one call, device time]`,
  );
  const shards = Array.from({ length: count }, () => backend.allocate(0, each));
  const timed = Array.from({ length: count }, () => timer.allocate(each));
  for (const s of [...shards, ...timed]) fillRandom(s);
  for (const leafSize of [16 * KiB, 64 * KiB]) {
    const leaves = `${fmtBytes(leafSize)} leaves`;
    const inFlight = await measure(() =>
      wallMs(() => Promise.all(shards.map((s) => s.treeDigest({ leafSize })))),
    );
    line('batch', `${leaves}: ${count} treeDigest() in flight (baseline, call)`, inFlight, bytes);
    const oneByOne = await measure(async () => {
      let ms = 0;
      for (const s of timed) ms += await s.digestMs(leafSize);
      return ms;
    });
    line('batch', `${leaves}: ${count} tree digests one by one (device)`, oneByOne, bytes);
    const many = await measure(() => timer.manyMs(timed, leafSize));
    line(
      'batch',
      `${leaves}: treeDigestMany (device)`,
      many,
      bytes,
      `${(oneByOne / many).toFixed(2)}x one by one`,
    );
    const call = await measure(() =>
      wallMs(() => backend.treeDigestMany(shards.map((allocation) => ({ allocation, leafSize })))),
    );
    line(
      'batch',
      `${leaves}: treeDigestMany() call time`,
      call,
      bytes,
      `${(inFlight / call).toFixed(2)}x in flight`,
    );
    summary.push([
      `batch ${count} x ${fmtBytes(each)}, ${leaves} (device time)`,
      `${gbps(bytes, many).toFixed(0)} GB/s`,
      '>= 350 GB/s',
      gbps(bytes, many) >= 350,
    ]);
  }
  for (const s of [...shards, ...timed]) s.free();
}

// ---- 4. kernel --------------------------------------------------------------------------------
async function kernel() {
  const bytes = size(4 * GiB);
  console.log(
    `\n4. kernel: tree digest of ${fmtBytes(bytes)} [goal: >= 870 GB/s = 0.85x hashcat's H100 SHA-256, ${HASHCAT_H100_GBPS} GB/s, not measured here]`,
  );
  const shard = timer.allocate(bytes);
  fillRandom(shard);
  const copy = await measure(() => shard.copyMs(), 5);
  line(
    'kernel',
    'device-to-device copy (HBM reference, bytes read)',
    copy,
    bytes,
    `${gbps(2 * bytes, copy).toFixed(0)} GB/s read + write`,
  );
  for (const leafSize of [4 * KiB, 16 * KiB, 64 * KiB]) {
    const ms = await measure(() => shard.digestMs(leafSize), 5);
    const rate = gbps(bytes, ms);
    line(
      'kernel',
      `${fmtBytes(leafSize)} leaves: tree digest (${timer.clock.split(' (')[0]})`,
      ms,
      bytes,
      `${(rate / HASHCAT_H100_GBPS).toFixed(2)}x hashcat H100`,
    );
    summary.push([
      `kernel ${fmtBytes(bytes)}, ${fmtBytes(leafSize)} leaves`,
      `${rate.toFixed(0)} GB/s`,
      '>= 870 GB/s',
      rate >= 870,
    ]);
  }
  shard.free();
}

for (const section of [upload, latency, batch, kernel]) await section();

console.log(`\nsummary (${REHEARSAL ? 'REHEARSAL: not measurements' : 'this run'}):`);
for (const [what, figure, goal, met] of summary) {
  console.log(
    `  ${what.padEnd(52)} ${figure.padStart(10)}  goal ${goal.padEnd(12)} ${met ? 'met' : 'MISSED'}`,
  );
}
console.log(`bench:gpu: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
if (jsonOut !== undefined) {
  const device = backend.deviceInfo(0);
  writeFileSync(
    jsonOut,
    `${JSON.stringify({ rehearsal: REHEARSAL, date: new Date().toISOString(), device, stage: stageInfo, figures, summary }, null, 2)}\n`,
  );
}
backend[Symbol.dispose]();
