/**
 * How long an fdatasync takes after a pause of G µs of CPU work since the previous one returned:
 * one appending file, one 473-byte line per sync, the pause a busy-wait (so the CPU stays warm and
 * only the disk's side of the gap is measured). Interleaved rounds over every gap.
 *
 *   node bench/sync-gap.mjs [rounds]
 *
 * Prints, per gap, the fdatasync's median and quartiles in µs and the resulting time per line.
 * Why it matters: the logger's work between two syncs costs it twice, once itself and once as a
 * slower next sync (docs/benchmarks.md).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const rounds = Number(process.argv[2] ?? 10);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vramseal-sync-gap-'));
const fd = fs.openSync(
  path.join(dir, 'lines'),
  fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT,
  0o600,
);
const line = Buffer.from(`${'x'.repeat(472)}\n`);
const busyWait = (us) => {
  const end = process.hrtime.bigint() + BigInt(Math.round(us * 1000));
  while (process.hrtime.bigint() < end);
};
const GAPS = [0, 10, 20, 30, 40, 50, 70, 100];
const syncs = new Map(GAPS.map((gap) => [gap, []]));
for (let round = 0; round < rounds; round++) {
  for (const gap of GAPS) {
    for (let i = 0; i < 200; i++) {
      busyWait(gap);
      fs.writeSync(fd, line);
      const start = process.hrtime.bigint();
      fs.fdatasyncSync(fd);
      syncs.get(gap).push(Number(process.hrtime.bigint() - start) / 1000);
    }
  }
}
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * q)];
console.log(`fdatasync after a gap of CPU work (${rounds} rounds of 200 per gap, ${os.tmpdir()})`);
for (const gap of GAPS) {
  const times = syncs.get(gap);
  const median = quantile(times, 0.5);
  console.log(
    `gap ${String(gap).padStart(3)} µs: fdatasync median ${median.toFixed(1)} (p25 ${quantile(times, 0.25).toFixed(1)}, p75 ${quantile(times, 0.75).toFixed(1)}) | per line ${(gap + median).toFixed(0)} µs`,
  );
}
fs.closeSync(fd);
fs.rmSync(dir, { recursive: true, force: true });
