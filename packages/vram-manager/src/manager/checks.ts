import { validateEvent } from '@vramseal/audit-logging';
import { describeValue, invalidInput, messageOf } from '../errors.js';
import type { SealedShardJSON } from '../shard/sealed-shard.js';
import type { ResetOptions, VerifyOptions } from './types.js';

export function checkDeep(options: VerifyOptions): boolean {
  if (typeof options !== 'object' || options === null) {
    throw invalidInput(
      'options',
      `options must be an object such as { deep: true }, got ${describeValue(options)}`,
    );
  }
  if (options.deep !== undefined && typeof options.deep !== 'boolean') {
    throw invalidInput(
      'options.deep',
      `options.deep must be true or false, got ${describeValue(options.deep)}`,
    );
  }
  return options.deep === true;
}

export function checkResetOptions(options: ResetOptions, workerId: string): ResetOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalidInput(
      'options',
      'reset needs { operator, reason }: who resets and why it is safe to serve again',
    );
  }
  // The audit log's own validator decides what an operator or reason may be, so an accepted reset
  // can always be recorded.
  try {
    validateEvent({
      type: 'vram_manager_reset',
      operator: options.operator,
      reason: options.reason,
      workerId,
    });
  } catch (error) {
    const field = (error as { field?: string }).field ?? 'options';
    throw invalidInput(`options.${field}`, `reset: ${messageOf(error)}`, error);
  }
  return { operator: options.operator, reason: options.reason };
}

export function checkShardSet(shards: unknown): void {
  if (!Array.isArray(shards) || shards.length === 0) {
    throw invalidInput(
      'shards',
      `shards must be a non-empty array of SealedShards, got ${describeValue(shards)}`,
    );
  }
  const first = shards[0] as Partial<SealedShardJSON>;
  const indexes = new Set<number>();
  const ids = new Set<string>();
  for (const [position, value] of shards.entries()) {
    const shard = value as Partial<SealedShardJSON> | null;
    if (typeof shard !== 'object' || shard === null) {
      throw invalidInput(`shards[${position}]`, `shards[${position}] is not a SealedShard`);
    }
    if (shard.modelRef !== first.modelRef) {
      throw invalidInput(
        'shards',
        `the set mixes model refs (shards[0] and shards[${position}] differ): every shard must belong to one model`,
      );
    }
    if (shard.totalShards !== first.totalShards) {
      throw invalidInput(
        'shards',
        `the set mixes totalShards (shards[0] says ${first.totalShards}, shards[${position}] says ${shard.totalShards})`,
      );
    }
    if (
      typeof shard.shardIndex !== 'number' ||
      indexes.has(shard.shardIndex) ||
      ids.has(String(shard.shardId))
    ) {
      throw invalidInput(
        'shards',
        `shards[${position}] duplicates shard index ${shard.shardIndex} (or shard id) of the set`,
      );
    }
    indexes.add(shard.shardIndex);
    ids.add(String(shard.shardId));
  }
  const total = first.totalShards ?? 0;
  const missing = Array.from({ length: Math.min(total, 1_000_000) }, (_, i) => i).filter(
    (i) => !indexes.has(i),
  );
  if (missing.length > 0 || shards.length !== total) {
    const shown = missing.slice(0, 10).join(', ');
    throw invalidInput(
      'shards',
      `the set is incomplete: ${shards.length} of ${total} shards given, missing index ${shown}${missing.length > 10 ? ', ...' : ''}`,
    );
  }
}
