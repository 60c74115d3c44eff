import fs from 'node:fs';
import path from 'node:path';
import { AuditLogger } from '@vramseal/audit-logging';
import { deriveKey } from '@vramseal/seal-crypto';

const key = deriveKey('bench-worker-token-1c9e7a53d2f04b68', 'audit');
const dir = fs.mkdtempSync('/dev/shm/prof-');
const log = await AuditLogger.open({
  dir: path.join(dir, 'l'),
  serviceId: 'bench',
  key,
  durability: 'immediate',
  checkpointEvery: 1000000,
});
let j = 0;
for (let r = 0; r < 5; r++) {
  const N = 20000;
  const t = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++)
    await log.emit({
      type: 'vram_sealed',
      shardId: `llama-70b/shard-${j++}`,
      gpuDevice: 0,
      vramBytes: 1073741824,
      digest: 'ab'.repeat(32),
      workerId: 'worker-gpu-node-17',
    });
  const cu = process.cpuUsage(c0);
  console.log(
    'wall',
    (Number(process.hrtime.bigint() - t) / 1e3 / N).toFixed(1),
    'cpu',
    ((cu.user + cu.system) / N).toFixed(1),
  );
}
await log.close();
fs.rmSync(dir, { recursive: true });
