import assert from 'node:assert/strict';
import { Then, When } from '@cucumber/cucumber';
import {
  consistencyProof,
  inclusionProof,
  leafHash,
  merkleRoot,
  timingSafeEqual,
  treeDigest,
  treeDigestPoolSize,
  treeLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from '@vramseal/seal-crypto';
import type { ScenarioTree } from '../scenario/types.js';
import { randomBytes } from '../tamper.js';
import type { VramWorld } from '../world.js';
import { sealShard } from './sealing.js';

// Merkle steps on shards the VRAM manager sealed: the tree root a seal carries was computed by the
// backend from device memory; the leaf hashes here are computed on the host from the bytes handed
// over. Proofs built from one and checked against the other only verify when both agree.

/** Bytes per seal-crypto worker job (its default chunk size): a shard above it spans chunks. */
const POOL_CHUNK_BYTES = 4 * 1024 * 1024;

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** The sealed shard's tree as an auditor holds it: the sealed root, the host's leaf hashes. */
function sealedTree(world: VramWorld, id: string): ScenarioTree {
  const shard = world.sealed(id);
  const bytes = world.need(world.shardBytes.get(id), `bytes of shard ${id}`);
  return {
    root: Uint8Array.from(Buffer.from(shard.treeRoot, 'hex')),
    leafSize: shard.leafSize,
    leafHashes: treeLeafHashes(bytes, { leafSize: shard.leafSize }),
  };
}

When(
  'the leaf hashes of shard {string} are computed on the host',
  function (this: VramWorld, id: string) {
    this.tree = sealedTree(this, id);
  },
);

Then('the tree has {int} leaves', function (this: VramWorld, count: number) {
  assert.equal(this.need(this.tree, 'tree').leafHashes.length, count);
});

Then(
  'the sealed tree root equals the root recomputed from the leaf hashes',
  function (this: VramWorld) {
    const tree = this.need(this.tree, 'tree');
    const recomputed = merkleRoot(tree.leafHashes);
    assert.ok(
      timingSafeEqual(tree.root, recomputed),
      `sealed ${hex(tree.root)}, host ${hex(recomputed)}`,
    );
  },
);

/**
 * Three implementations of sha256-tree-v1 over the same bytes: the backend's, from device memory
 * (native threads on the mock, the CUDA kernel on a GPU) as the seal recorded it; seal-crypto's
 * worker pool (forced on with inlineBelow 0, over several 4 MiB jobs); and a single-threaded
 * recomputation from the leaf hashes.
 */
Then(
  "the manager's sealed tree root, seal-crypto's worker pool and a single-threaded recomputation agree on shard {string}",
  async function (this: VramWorld, id: string) {
    const shard = this.sealed(id);
    const bytes = this.need(this.shardBytes.get(id), `bytes of shard ${id}`);
    assert.ok(
      bytes.length > POOL_CHUNK_BYTES,
      `shard ${id} fits in one worker job (${bytes.length} bytes): use more than 4 MiB`,
    );
    const leafSize = shard.leafSize;
    const pool = await treeDigest(bytes, { leafSize, inlineBelow: 0 });
    assert.ok(treeDigestPoolSize() > 0, "seal-crypto's worker pool did not run");
    const leafHashes = treeLeafHashes(bytes, { leafSize });
    const single = hex(merkleRoot(leafHashes));
    const roots = { sealed: shard.treeRoot, pool: hex(pool.root), single };
    assert.equal(pool.leafCount, Math.ceil(bytes.length / leafSize), 'worker pool leaf count');
    assert.equal(leafHashes.length, pool.leafCount, 'leaf hash count');
    assert.equal(
      roots.pool,
      roots.single,
      `worker pool vs single thread: ${JSON.stringify(roots)}`,
    );
    assert.equal(roots.sealed, roots.single, `device vs single thread: ${JSON.stringify(roots)}`);
    this.tree = { root: pool.root, leafSize, leafHashes };
  },
);

Then(
  'the {string} event of shard {string} narrates the tree root the host recomputed',
  function (this: VramWorld, action: string, id: string) {
    this.narrationChecks++;
    const bytes = this.need(this.shardBytes.get(id), `bytes of shard ${id}`);
    const leafSize = this.sealed(id).leafSize;
    const host = hex(merkleRoot(treeLeafHashes(bytes, { leafSize })));
    const events = this.narration.events.filter((e) => e.action === action && e.shard_id === id);
    assert.ok(events.length > 0, `no ${action} event for shard ${id}`);
    for (const event of events) {
      const context = event.context as Record<string, unknown> | undefined;
      assert.equal(context?.tree_root, host, `the ${action} event's tree root`);
      assert.equal(context?.leaf_size, leafSize, `the ${action} event's leaf size`);
    }
  },
);

When(
  'an inclusion proof is made for leaf {int} of shard {string}',
  function (this: VramWorld, leafIndex: number, id: string) {
    const tree = sealedTree(this, id);
    const hash = tree.leafHashes[leafIndex];
    assert.ok(hash, `shard ${id} has no leaf ${leafIndex}`);
    this.tree = tree;
    this.shard = {
      shardId: id,
      device: this.sealed(id).gpuDevice,
      bytes: this.shardBytes.get(id)!,
    };
    this.proof = { leafIndex, leafHash: hash, path: inclusionProof(leafIndex, tree.leafHashes) };
  },
);

Then('the proof verifies against the sealed tree root', function (this: VramWorld) {
  assert.equal(proofVerifies(this), true);
});

When('byte {int} of leaf {int} is changed', function (this: VramWorld, byte: number, leaf: number) {
  const tree = this.need(this.tree, 'tree');
  const shard = this.need(this.shard, 'shard of the proof');
  const leafStart = leaf * tree.leafSize;
  assert.ok(leafStart + byte < shard.bytes.length, `byte ${byte} of leaf ${leaf} is past the end`);
  const changed = Uint8Array.from(shard.bytes.subarray(leafStart, leafStart + tree.leafSize));
  changed[byte]! ^= 0x01;
  const proof = this.need(this.proof, 'inclusion proof');
  this.proof = { ...proof, leafHash: leafHash(changed) };
});

Then('the proof no longer verifies', function (this: VramWorld) {
  assert.equal(proofVerifies(this), false);
});

When(
  'shard {string} is sealed from shard {string} with {int} more random bytes',
  async function (this: VramWorld, id: string, base: string, extra: number) {
    const before = this.need(this.shardBytes.get(base), `bytes of shard ${base}`);
    const grown = new Uint8Array(before.length + extra);
    grown.set(before);
    grown.set(randomBytes(extra), before.length);
    await sealShard(this, id, grown);
  },
);

Then(
  'a consistency proof from the tree root of shard {string} to that of shard {string} {word}',
  function (this: VramWorld, older: string, newer: string, verdict: string) {
    assert.ok(verdict === 'verifies' || verdict === 'fails', 'say "verifies" or "fails"');
    const before = sealedTree(this, older);
    const after = sealedTree(this, newer);
    assert.equal(before.leafSize, after.leafSize, 'the two seals use different leaf sizes');
    const size1 = before.leafHashes.length;
    const proof = consistencyProof(size1, after.leafHashes);
    const holds = verifyConsistency(size1, after.leafHashes.length, proof, before.root, after.root);
    assert.equal(holds, verdict === 'verifies');
  },
);

function proofVerifies(world: VramWorld): boolean {
  const tree = world.need(world.tree, 'tree');
  const proof = world.need(world.proof, 'inclusion proof');
  return verifyInclusion(
    proof.leafHash,
    proof.leafIndex,
    tree.leafHashes.length,
    proof.path,
    tree.root,
  );
}
