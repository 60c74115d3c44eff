/**
 * Where `immediate`'s time goes: the CPU work per event *between* fdatasyncs (the logger's own
 * cost, on the cold CPU each sync leaves), for one or more builds of the logger, in one process
 * with interleaved rounds so that run-to-run drift (which is larger than the effects) cancels.
 * Each round: every build emits ROUND events with `immediate`, then a bare write+fdatasync loop and
 * a minimal MAC-chained log (as in bench/index.ts). fs.fdatasyncSync is wrapped to time the gaps;
 * SYNC=sleep replaces the disk by a 150 µs futex sleep (the cold-CPU effect without disk noise).
 *
 *   pnpm build && node bench/cold-work.mjs 12 ../../packages [/tmp/variant/packages ...]
 *
 * A root holds audit-logging/dist and seal-crypto/dist (a copy of the built packages, perhaps with
 * one step disabled, for an ablation). Prints, per build and for the two baselines: µs of work
 * between syncs (median, p25, p99, mean), of each fdatasync (median, mean), of a whole event (mean
 * per round, median over rounds), and the median over rounds of the bare loop's time per event
 * divided by its own (the `immediate` ratio `pnpm bench` prints). The minimal log uses the last
 * build's seal-crypto.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [roundsArg, ...roots] = process.argv.slice(2);
if (!roundsArg || roots.length === 0) {
  console.error('usage: node bench/cold-work.mjs <rounds> <packages root> [<packages root> ...]');
  process.exit(2);
}
const ROUND = 300;
const realSync = fs.fdatasyncSync;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleepInstead = process.env.SYNC === 'sleep';
let gaps = [];
let syncs = [];
let lastExit = 0n;
fs.fdatasyncSync = (fd) => {
  const enter = process.hrtime.bigint();
  if (lastExit) gaps.push(Number(enter - lastExit) / 1000);
  if (sleepInstead) Atomics.wait(sleeper, 0, 0, 0.15);
  else realSync(fd);
  lastExit = process.hrtime.bigint();
  syncs.push(Number(lastExit - enter) / 1000);
};

const event = (i) => ({
  type: 'vram_sealed',
  shardId: `llama-70b/shard-${String(i).padStart(7, '0')}`,
  gpuDevice: i % 8,
  vramBytes: 1_073_741_824,
  digest: 'ab'.repeat(32),
  workerId: 'worker-gpu-node-17',
});
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vramseal-cold-work-'));
let dirs = 0;
const fresh = () => path.join(tmp, `log-${++dirs}`);

/** Lines a batched logger of the first build writes (its durability has no fdatasyncSync). */
async function sampleLines(root, rootKey) {
  const { AuditLogger } = await import(path.resolve(root, 'audit-logging/dist/index.js'));
  const dir = fresh();
  const log = await AuditLogger.open({
    dir,
    serviceId: 'bench',
    key: rootKey,
    durability: 'batched',
  });
  await Promise.all(Array.from({ length: ROUND }, (_, i) => log.emit(event(1_000_000 + i))));
  await log.close();
  return fs
    .readFileSync(path.join(dir, 'segment-000001.ndjson'), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => Buffer.from(`${l}\n`));
}

const logs = [];
const keys = [];
let key;
let hmacHex;
for (const root of roots) {
  const { AuditLogger } = await import(path.resolve(root, 'audit-logging/dist/index.js'));
  const crypto = await import(path.resolve(root, 'seal-crypto/dist/index.js'));
  // Each build has its own seal-crypto, and a logger takes only its own SecretKey class.
  key = crypto.deriveKey('bench-worker-token-1c9e7a53d2f04b68', 'audit');
  keys.push(key);
  hmacHex = crypto.hmacSha256Hex;
  logs.push(
    await AuditLogger.open({
      dir: fresh(),
      serviceId: 'bench',
      key,
      durability: 'immediate',
      checkpointEvery: 1_000_000,
    }),
  );
}
const bareFd = fs.openSync(fresh(), 'a', 0o600);
const minimalFd = fs.openSync(fresh(), 'a', 0o600);
// The bare loop writes real record lines: this virtual disk syncs constant bytes measurably
// faster than random-looking ones (as bench/index.ts notes), which would flatter the baseline.
const lines = await sampleLines(roots[0], keys[0]);
let prevMac = '0'.repeat(64);
let minimalSeq = 0;
let seq = 0;

const names = [...roots, 'bare write+fdatasync', 'minimal MAC-chained log'];
const work = names.map(() => []);
const syncTimes = names.map(() => []);
const perEvent = names.map(() => []);
function endRound(k, start) {
  gaps.shift(); // the gap before the first sync of a round is not a per-event gap
  work[k].push(...gaps);
  syncTimes[k].push(...syncs);
  gaps = [];
  syncs = [];
  lastExit = 0n;
  perEvent[k].push(Number(process.hrtime.bigint() - start) / ROUND);
}
for (let round = 0; round < Number(roundsArg); round++) {
  for (let k = 0; k < logs.length; k++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ROUND; i++) await logs[k].emit(event(seq++));
    endRound(k, start);
  }
  let start = process.hrtime.bigint();
  for (let i = 0; i < ROUND; i++) {
    fs.writeSync(bareFd, lines[i % lines.length]);
    fs.fdatasyncSync(bareFd);
  }
  endRound(logs.length, start);
  start = process.hrtime.bigint();
  for (let i = 0; i < ROUND; i++) {
    const ts = new Date().toISOString();
    minimalSeq += 1;
    const head = `{"auditId":"${randomUUID()}","event":${JSON.stringify(event(i))},`;
    const tail = `"prevMac":"${prevMac}","seq":${minimalSeq},"serviceId":"bench","ts":"${ts}"}`;
    prevMac = hmacHex(key, head + tail);
    fs.writeSync(minimalFd, Buffer.from(`${head}"mac":"${prevMac}",${tail}\n`));
    fs.fdatasyncSync(minimalFd);
  }
  endRound(logs.length + 1, start);
}
fs.fdatasyncSync = realSync;
for (const log of logs) await log.close();
fs.rmSync(tmp, { recursive: true, force: true });

const quantile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * p)];
const median = (xs) => quantile(xs, 0.5);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const bare = perEvent[logs.length];
console.log(
  `per event, µs (median of every event; ratio: median over rounds of the bare loop's time / this one's); ${roundsArg} rounds of ${ROUND}, ${sleepInstead ? '150 µs sleep instead of fdatasync' : `fdatasync on ${os.tmpdir()}`}`,
);
for (const [k, name] of names.entries()) {
  const ratio =
    k === logs.length
      ? ''
      : ` | ratio ${median(bare.map((b, i) => b / perEvent[k][i])).toFixed(3)}`;
  console.log(
    `${name}: work between syncs ${median(work[k]).toFixed(1)} (p25 ${quantile(work[k], 0.25).toFixed(1)}, p99 ${quantile(work[k], 0.99).toFixed(0)}, mean ${mean(work[k]).toFixed(1)}) | sync ${median(syncTimes[k]).toFixed(1)} (mean ${mean(syncTimes[k]).toFixed(1)}) | whole event ${(median(perEvent[k]) / 1000).toFixed(1)}${ratio}`,
  );
}
