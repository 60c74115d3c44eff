// vram-manager on a real GPU: seal, verify (plain, deep, shard sets), tamper detection, the
// VRAM-only policy, attestation, and an audit log that verifies afterwards. Run by test.mjs.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuditLogger, verifyAuditLog } from '@vramseal/audit-logging';
import { deriveKey, sha256Hex, treeDigestSync } from '@vramseal/seal-crypto';
import { VramError, VramManager, verifyAttestation } from '@vramseal/vram-manager';
import { gpuBackend } from '../device.mjs';

const MiB = 1024 * 1024;
const TOKEN = `gpu-check-token-${randomBytes(12).toString('hex')}`;
const auditKey = deriveKey(TOKEN, 'audit');
const attestation = generateKeyPairSync('ed25519');
const dir = mkdtempSync(join(tmpdir(), 'vramseal-gpu-'));
const hex = (bytes) => Buffer.from(bytes).toString('hex');

let audit;
let manager;
let backend;

before(async () => {
  backend = gpuBackend({ allowFaultInjection: true });
  audit = await AuditLogger.open({
    dir: join(dir, 'audit'),
    serviceId: 'gpu-check',
    key: auditKey,
    durability: 'hybrid',
  });
  manager = await VramManager.create({
    workerToken: TOKEN,
    workerId: 'gpu-check',
    backend,
    audit,
    attestationKey: attestation.privateKey,
    allowFaultInjection: true,
    policy: { vramOnly: true },
  });
});

after(async () => {
  await manager?.close();
  await audit?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Expects a VramError with `code` (and `check`). */
async function rejectsWith(promise, code, check) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof VramError, `expected a VramError, got ${error}`);
    assert.equal(error.code, code, error.message);
    if (check !== undefined) assert.equal(error.check, check);
    return true;
  });
}

/** After a deliberate failure: take the failed shard off the device and serve again. */
async function recover(shard) {
  assert.equal(manager.state, 'stopped');
  await manager.deallocate(shard);
  await manager.reset({ operator: 'gpu-check', reason: 'planted fault in a test' });
  assert.equal(manager.state, 'ready');
}

describe('VramManager on the cuda backend', () => {
  test('runs on the GPU under the VRAM-only policy', async () => {
    assert.equal(manager.backendKind, 'cuda');
    assert.equal(manager.isVramOnly(), true);
    await manager.enforceVramOnlyPolicy();
    const [device] = manager.devices();
    assert.equal(device.vramOnly.ok, true, device.vramOnly.reason ?? '');
    assert.equal(device.integrated, false);
  });

  test('seals bytes: digest = SHA-256, treeRoot = seal-crypto treeDigestSync, then verify and deep verify pass', async () => {
    const data = randomFillSync(Buffer.allocUnsafe(24 * MiB + 77));
    const shard = await manager.sealModel(data, {
      shardId: 'bytes-0',
      modelRef: 'gpu-check/bytes@1',
      expectedSha256: sha256Hex(data),
    });
    assert.equal(shard.digest, sha256Hex(data));
    assert.equal(shard.treeRoot, hex(treeDigestSync(data, { leafSize: shard.leafSize }).root));
    assert.equal(shard.vramBytes, data.length);
    await manager.verifySealed(shard);
    await manager.verifySealed(shard, { deep: true });
    await manager.deallocate(shard);
  });

  test('seals a file (page cache) and a stream, and refuses a wrong expectedSha256 without sealing', async () => {
    const data = randomFillSync(Buffer.allocUnsafe(40 * MiB + 3));
    const file = join(dir, 'weights.bin');
    writeFileSync(file, data);
    const fromFile = await manager.sealModel(file, { shardId: 'file-0' });
    assert.equal(fromFile.digest, sha256Hex(data));
    await manager.verifySealed(fromFile);
    async function* chunks() {
      for (let at = 0; at < data.length; at += 3 * MiB + 1)
        yield data.subarray(at, at + 3 * MiB + 1);
    }
    const fromStream = await manager.sealModel(chunks(), {
      shardId: 'stream-0',
      byteLength: data.length,
    });
    assert.equal(fromStream.treeRoot, fromFile.treeRoot);
    await manager.verifySealed(fromStream);
    const usedBefore = manager.usedVram(0);
    await rejectsWith(
      manager.sealModel(data, { shardId: 'wrong-0', expectedSha256: '0'.repeat(64) }),
      'INTEGRITY_VIOLATION',
    );
    assert.equal(manager.usedVram(0), usedBefore);
    await manager.deallocate(fromFile);
    await manager.deallocate(fromStream);
  });

  test('one flipped bit in VRAM fails verify (tree_root) and stops the manager until reset', async () => {
    const shard = await manager.sealModel(randomBytes(8 * MiB), { shardId: 'tamper-0' });
    manager.injectFault(shard, { offset: 4_000_000, xorMask: 0x10 });
    await rejectsWith(manager.verifySealed(shard), 'SEAL_VERIFICATION_FAILED', 'tree_root');
    await rejectsWith(manager.verifySealed(shard), 'MANAGER_STOPPED');
    await recover(shard);
  });

  test('a changed seal field fails the signature check', async () => {
    const shard = await manager.sealModel(randomBytes(MiB), { shardId: 'fields-0' });
    const forged = { ...shard.toJSON(), vramBytes: shard.vramBytes - 1 };
    await rejectsWith(manager.verifySealed(forged), 'SEAL_VERIFICATION_FAILED', 'signature');
    await recover(shard);
  });

  test('verifyShardSet: a 4-shard set verifies; a flip in one shard fails the set', async () => {
    const shards = [];
    for (let index = 0; index < 4; index++) {
      shards.push(
        await manager.sealModel(randomBytes(6 * MiB + index * 4097), {
          shardId: `set-${index}`,
          modelRef: 'gpu-check/set@1',
          shardIndex: index,
          totalShards: 4,
        }),
      );
    }
    await manager.verifyShardSet(shards);
    await manager.verifyShardSet(shards, { deep: true });
    await rejectsWith(manager.verifyShardSet(shards.slice(1)), 'INVALID_INPUT');
    manager.injectFault(shards[2], { offset: 6 * MiB - 1, xorMask: 0x80 });
    await rejectsWith(manager.verifyShardSet(shards), 'SEAL_VERIFICATION_FAILED', 'tree_root');
    await recover(shards[2]);
    for (const shard of [shards[0], shards[1], shards[3]]) await manager.deallocate(shard);
  });

  test('attestation: device memory, verified with the public key and nonce; another nonce is refused', async () => {
    const shard = await manager.sealModel(randomBytes(4 * MiB), { shardId: 'attest-0' });
    const nonce = randomBytes(16);
    const statement = await manager.attestVramResidency(shard, { nonce });
    assert.equal(statement.device.memoryType, 'device');
    assert.deepEqual(verifyAttestation(statement, manager.attestationPublicKey, { nonce }), {
      ok: true,
      reason: null,
    });
    const replay = verifyAttestation(statement, manager.attestationPublicKey, {
      nonce: randomBytes(16),
    });
    assert.equal(replay.ok, false);
    assert.equal(replay.reason, 'nonce_mismatch');
    await manager.deallocate(shard);
  });

  test('capacity: a shard larger than the device is INSUFFICIENT_VRAM, and nothing is held afterwards', async () => {
    const available = manager.availableVram(0);
    async function* never() {}
    await rejectsWith(
      manager.sealModel(never(), { shardId: 'huge-0', byteLength: available + MiB }),
      'INSUFFICIENT_VRAM',
    );
    assert.equal(manager.usedVram(0), 0);
  });

  test('the audit log of everything above verifies', async () => {
    await audit.flush();
    const report = await verifyAuditLog(join(dir, 'audit'), { key: auditKey });
    assert.equal(report.ok, true, JSON.stringify(report));
    assert.ok(report.events > 10);
  });
});
