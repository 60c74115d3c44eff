// Seal a shard in device memory, verify it before "inference", flip one bit in VRAM, watch the
// verify fail and the manager stop, then check the audit log. Runs on the mock backend when no
// GPU answers. Run: pnpm build && node examples/quick-start.ts ... or, in the workspace:
//   node --conditions=@vramseal/source --import tsx examples/quick-start.ts
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLogger, verifyAuditLog } from '@vramseal/audit-logging';
import { createNarrator } from '@vramseal/narration-core';
import { deriveKey } from '@vramseal/seal-crypto';
import { VramManager } from '@vramseal/vram-manager';

const token = process.env.VRAMSEAL_WORKER_TOKEN || 'demo-token-3c9e1d2a4f680b7f';
const auditDir = join(mkdtempSync(join(tmpdir(), 'vramseal-')), 'audit');
const audit = await AuditLogger.open({
  dir: auditDir,
  serviceId: 'worker-0',
  key: deriveKey(token, 'audit'),
  durability: 'hybrid', // critical events are durable at once, routine ones in group commits
});
const manager = await VramManager.create({
  workerToken: token,
  workerId: 'worker-0',
  audit,
  narrator: createNarrator({ actor: 'gpu-worker', level: 'warn' }), // warnings and errors to stdout
});

const weights = randomBytes(8 * 1024 * 1024); // stands in for a safetensors shard (or pass a path)
const shard = await manager.sealModel(weights, {
  shardId: 'llama-3-8b-shard-0',
  modelRef: 'meta-llama/Meta-Llama-3-8B@main',
});
console.log(
  `sealed ${shard.shardId}: ${shard.vramBytes} bytes on device ${shard.gpuDevice}, tree root ${shard.treeRoot.slice(0, 16)}...`,
);

await manager.verifySealed(shard); // before every inference
console.log('verified: device memory matches the seal');

manager.injectFault(shard, { offset: 4_000_000, xorMask: 0x01 }); // one bit flips in VRAM
try {
  await manager.verifySealed(shard);
} catch (error) {
  const { code, check } = error as { code: string; check: string };
  console.log(`verify failed: ${code} (${check}); manager state: ${manager.state}`);
}

await manager.close();
await audit.close();
const report = await verifyAuditLog(auditDir, { key: deriveKey(token, 'audit') });
console.log(
  `audit log: ${report.ok ? 'valid' : `TAMPERED (${report.reason})`}, ${report.events} events`,
);
