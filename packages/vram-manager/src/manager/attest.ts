import { performance } from 'node:perf_hooks';
import { signAttestation } from '@vramseal/seal-crypto';
import {
  ATTESTATION_FORMAT,
  type AttestationStatement,
  attestationFieldsOf,
} from '../attestation/attestation.js';
import { VramError } from '../errors.js';
import { checkNonce, escapeForRecord } from '../input/validate.js';
import type { SealedShard } from '../shard/sealed-shard.js';
import type { ManagerCore } from './core.js';
import { say } from './sentences.js';
import type { AttestOptions } from './types.js';
import { checkResident } from './verification.js';

/**
 * A signed statement that `shard` is resident now (see VramManager.attestVramResidency). The shard
 * goes through the one verification path first: a failure there stops the manager.
 */
export async function attest(
  core: ManagerCore,
  shard: SealedShard,
  options: AttestOptions,
): Promise<AttestationStatement> {
  core.assertServing('attest');
  const started = performance.now();
  const privateKey = core.config.attestationKey;
  if (privateKey === undefined) {
    throw new VramError(
      'CONFIG_ERROR',
      'attestVramResidency needs an attestationKey (an Ed25519 private KeyObject) in VramManager.create',
      {
        option: 'attestationKey',
      },
    );
  }
  const nonce = checkNonce(options?.nonce);
  const id =
    typeof shard === 'object' && shard !== null
      ? (shard as { shardId?: unknown }).shardId
      : undefined;
  const resident = typeof id === 'string' ? core.shards.get(id) : undefined;
  if (resident === undefined) {
    throw new VramError(
      'NOT_SEALED',
      `shard ${typeof id === 'string' ? escapeForRecord(id) : '(none)'} is not resident in this manager; seal it first`,
      { shardId: typeof id === 'string' ? id : undefined },
    );
  }
  // One user of the shard from the measurement to the pointer attributes: a deallocation
  // waits, so the statement never describes memory that was freed halfway through.
  const { record, measuredRoot, info, attributes } = await resident.usage.during(async () => {
    const checked = await checkResident(core, shard, { deep: false });
    const allocation = checked.record.allocation;
    return {
      ...checked,
      info: core.backend.deviceInfo(allocation.device),
      attributes: allocation.attributes(),
    };
  });
  const unsigned: Omit<AttestationStatement, 'signature'> = {
    format: ATTESTATION_FORMAT,
    version: 1,
    shard: { ...record.shard },
    device: {
      name: info.name,
      uuid: info.uuid,
      computeCapability: info.computeCapability ?? '',
      memoryType: attributes.memoryType,
    },
    measuredTreeRoot: Buffer.from(measuredRoot).toString('hex'),
    nonce: Buffer.from(nonce).toString('hex'),
    attestedAt: Date.now(),
  };
  const signature = signAttestation(privateKey, attestationFieldsOf(unsigned)!);
  core.say('info', {
    action: 'attest',
    target: record.shard.shardId,
    shardId: record.shard.shardId,
    device: record.allocation.device,
    durationMs: performance.now() - started,
    human: say.attest(record.shard.shardId, attributes.memoryType, info.name),
    context: { memory_type: attributes.memoryType, device_uuid: info.uuid },
  });
  return { ...unsigned, signature: Buffer.from(signature).toString('base64') };
}
