import { availableParallelism } from 'node:os';
import { assertBytes, assertInteger } from '../errors/arguments.js';
import { invalidType, outOfRange } from '../errors/errors.js';

const DEFAULT_LEAF_SIZE = 65_536;
const MIN_LEAF_SIZE = 64;
const MAX_LEAF_SIZE = 2 ** 30;
/** Below this many bytes the worker round trip costs more than it saves: hash inline. */
const DEFAULT_INLINE_BELOW = 8 * 2 ** 20;
/** Bytes per worker job: big enough to amortise a message, small enough to overlap copy and hash. */
const DEFAULT_CHUNK_SIZE = 4 * 2 ** 20;
const MAX_THREADS = 256;

export interface TreeDigestSyncOptions {
  /** Bytes per leaf: a power of two from 64 to 2^30 (1 GiB). Default 65536. */
  leafSize?: number;
}

export interface TreeDigestOptions extends TreeDigestSyncOptions {
  /** Worker threads to use at most. Default os.availableParallelism(). */
  threads?: number;
  /** Inputs shorter than this many bytes are hashed inline on the calling thread. Default 8 MiB. */
  inlineBelow?: number;
  /** Bytes per worker job, rounded down to whole leaves (at least one leaf). Default 4 MiB. */
  chunkSize?: number;
}

/** What a tree digest is: the RFC 6962 root over fixed-size leaves, and the leaf layout. */
export interface TreeDigest {
  root: Uint8Array;
  leafSize: number;
  leafCount: number;
}

export function resolveLeafSize(data: unknown, options: unknown): number {
  assertBytes(data, 'data');
  const opts = assertOptions(options);
  const leafSize = opts.leafSize ?? DEFAULT_LEAF_SIZE;
  assertInteger(leafSize, 'options.leafSize', MIN_LEAF_SIZE, MAX_LEAF_SIZE);
  if ((leafSize & (leafSize - 1)) !== 0) {
    throw outOfRange(
      'options.leafSize',
      `options.leafSize must be a power of two (64, 128, ..., 65536, ...), got ${leafSize}`,
    );
  }
  return leafSize;
}

export interface ResolvedTreeDigestOptions {
  leafSize: number;
  threads: number;
  inlineBelow: number;
  chunkSize: number;
}

export function resolveOptions(data: unknown, options: unknown): ResolvedTreeDigestOptions {
  const leafSize = resolveLeafSize(data, options);
  const opts = options as TreeDigestOptions;
  const threads = opts.threads ?? availableParallelism();
  assertInteger(threads, 'options.threads', 1, MAX_THREADS);
  const inlineBelow = opts.inlineBelow ?? DEFAULT_INLINE_BELOW;
  assertInteger(inlineBelow, 'options.inlineBelow', 0, Number.MAX_SAFE_INTEGER);
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  assertInteger(chunkSize, 'options.chunkSize', 1, Number.MAX_SAFE_INTEGER);
  return {
    leafSize,
    threads,
    inlineBelow,
    chunkSize: Math.max(leafSize, chunkSize - (chunkSize % leafSize)),
  };
}

function assertOptions(options: unknown): TreeDigestOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalidType('options', 'options must be an object such as { leafSize: 65536 }');
  }
  return options as TreeDigestOptions;
}
