// A small workload for compute-sanitizer (memcheck, racecheck): every kernel path on small
// sizes, each result checked against seal-crypto, so the sanitizer sees every kernel and the
// run still fails on a wrong root. Sanitizers slow kernels 10-100x: keep it small.
//
//   compute-sanitizer --tool memcheck --error-exitcode 1 node checks/sanitize.mjs
//
// No CUDA device: prints "no CUDA device: <reason>" and exits 0.
import { randomFillSync } from 'node:crypto';
import { treeDigestSync } from '@vramseal/seal-crypto';
import { describeDevice, probeCuda } from './device.mjs';

const probe = probeCuda();
if (!probe.ok) {
  console.log(`sanitize: no CUDA device: ${probe.reason}`);
  process.exit(0);
}
const backend = probe.backend;
console.log(`sanitize: ${describeDevice(backend)}`);
const hex = (bytes) => Buffer.from(bytes).toString('hex');
let checked = 0;
let wrong = 0;
function expectRoot(actual, data, leafSize, what) {
  checked += 1;
  if (hex(actual) !== hex(treeDigestSync(data, { leafSize }).root)) {
    wrong += 1;
    console.log(`sanitize: WRONG ROOT for ${what}`);
  }
}

// Whole allocations: the staged kernel (full leaves), the generic kernel (the short last leaf),
// single-leaf trees and odd leaf counts for the level reduction.
for (const size of [
  1,
  64,
  65,
  4095,
  4096 * 3 + 1,
  128 * 64 + 64,
  256 * 1024 + 7,
  1024 * 1024 + 1,
]) {
  const data = randomFillSync(Buffer.allocUnsafe(size));
  const allocation = backend.allocate(0, size);
  allocation.write(0, data);
  for (const leafSize of [64, 4096, 65536]) {
    expectRoot(
      await allocation.treeDigest({ leafSize }),
      data,
      leafSize,
      `${size} bytes, leaf ${leafSize}`,
    );
  }
  // A range that starts inside the allocation (ptr + offset) and one to the end.
  if (size > 4096) {
    expectRoot(
      await allocation.treeDigest({ leafSize: 64, offset: 4096, length: size - 4096 - 1 }),
      data.subarray(4096, size - 1),
      64,
      `range of ${size} bytes`,
    );
  }
  allocation.corrupt(size - 1, 1);
  allocation.corrupt(size - 1, 1);
  if (hex(allocation.read(0, size)) !== hex(data)) {
    wrong += 1;
    console.log(`sanitize: read back differs for ${size} bytes`);
  }
  allocation.free();
}
// One batch over ranges of every kind: the batched staged, generic, level and gather kernels.
{
  const sizes = [1, 65, 4096 * 3 + 1, 128 * 64 + 64, 256 * 1024 + 7];
  const data = sizes.map((size) => randomFillSync(Buffer.allocUnsafe(size)));
  const allocations = data.map((bytes) => {
    const allocation = backend.allocate(0, bytes.length);
    allocation.write(0, bytes);
    return allocation;
  });
  const items = allocations.flatMap((allocation) => [
    { allocation, leafSize: 64 },
    { allocation, leafSize: 4096 },
  ]);
  items.push({ allocation: allocations[2], leafSize: 64, offset: 4096, length: 0 });
  const roots = await backend.treeDigestMany(items);
  items.forEach((item, i) => {
    const bytes = data[allocations.indexOf(item.allocation)];
    const offset = item.offset ?? 0;
    const length = item.length ?? bytes.length - offset;
    expectRoot(roots[i], bytes.subarray(offset, offset + length), item.leafSize, `batch item ${i}`);
  });
  for (const allocation of allocations) allocation.free();
}

console.log(`sanitize: ${checked} roots checked, ${wrong} wrong`);
backend[Symbol.dispose]();
process.exit(wrong === 0 ? 0 : 1);
