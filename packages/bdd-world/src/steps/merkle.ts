import assert from 'node:assert/strict';
import { Given, Then, When } from '@cucumber/cucumber';
import {
  consistencyProof,
  inclusionProof,
  leafHash,
  merkleRoot,
  timingSafeEqual,
  treeDigest,
  treeLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from '@vramseal/seal-crypto';
import { randomBytes } from '../tamper.js';
import type { ScenarioTree, VramsealWorld } from '../world.js';

async function digestTree(bytes: Uint8Array, leafSize: number): Promise<ScenarioTree> {
  const { root } = await treeDigest(bytes, { leafSize });
  return { root, leafSize, leafHashes: treeLeafHashes(bytes, { leafSize }) };
}

Given(
  'its tree digest with leaves of {int} bytes',
  async function (this: VramsealWorld, leafSize: number) {
    this.tree = await digestTree(this.need(this.shard, 'model shard').bytes, leafSize);
  },
);

Then('the tree has {int} leaves', function (this: VramsealWorld, count: number) {
  assert.equal(this.need(this.tree, 'tree digest').leafHashes.length, count);
});

Then(
  'the tree root equals the root recomputed from the leaf hashes',
  function (this: VramsealWorld) {
    const tree = this.need(this.tree, 'tree digest');
    assert.ok(timingSafeEqual(tree.root, merkleRoot(tree.leafHashes)), 'roots differ');
  },
);

When(
  'an inclusion proof is made for leaf {int}',
  function (this: VramsealWorld, leafIndex: number) {
    const tree = this.need(this.tree, 'tree digest');
    const hash = tree.leafHashes[leafIndex];
    assert.ok(hash, `the tree has no leaf ${leafIndex}`);
    this.proof = { leafIndex, leafHash: hash, path: inclusionProof(leafIndex, tree.leafHashes) };
  },
);

Then('the proof verifies against the tree root', function (this: VramsealWorld) {
  assert.equal(proofVerifies(this), true);
});

When(
  'byte {int} of leaf {int} is changed',
  function (this: VramsealWorld, byte: number, leaf: number) {
    const tree = this.need(this.tree, 'tree digest');
    const shard = this.need(this.shard, 'model shard');
    const offset = leaf * tree.leafSize + byte;
    assert.ok(offset < shard.bytes.length, `byte ${byte} of leaf ${leaf} is past the shard's end`);
    const leafStart = leaf * tree.leafSize;
    const changed = Uint8Array.from(shard.bytes.subarray(leafStart, leafStart + tree.leafSize));
    changed[byte]! ^= 0x01;
    const proof = this.need(this.proof, 'inclusion proof');
    this.proof = { ...proof, leafHash: leafHash(changed) };
  },
);

Then('the proof no longer verifies', function (this: VramsealWorld) {
  assert.equal(proofVerifies(this), false);
});

When('the shard grows by {int} random bytes', async function (this: VramsealWorld, extra: number) {
  const shard = this.need(this.shard, 'model shard');
  const grown = new Uint8Array(shard.bytes.length + extra);
  grown.set(shard.bytes);
  grown.set(randomBytes(extra), shard.bytes.length);
  this.previousTree = this.need(this.tree, 'tree digest');
  shard.bytes = grown;
  this.tree = await digestTree(grown, this.previousTree.leafSize);
});

Then(
  'a consistency proof from the old tree to the new tree verifies',
  function (this: VramsealWorld) {
    assert.equal(consistencyHolds(this), true);
  },
);

Then(
  'a consistency proof from the old tree to the new tree does not verify',
  function (this: VramsealWorld) {
    assert.equal(consistencyHolds(this), false);
  },
);

function consistencyHolds(world: VramsealWorld): boolean {
  const before = world.need(world.previousTree, 'earlier tree');
  const after = world.need(world.tree, 'tree digest');
  const size1 = before.leafHashes.length;
  const proof = consistencyProof(size1, after.leafHashes);
  return verifyConsistency(size1, after.leafHashes.length, proof, before.root, after.root);
}

function proofVerifies(world: VramsealWorld): boolean {
  const tree = world.need(world.tree, 'tree digest');
  const proof = world.need(world.proof, 'inclusion proof');
  return verifyInclusion(
    proof.leafHash,
    proof.leafIndex,
    tree.leafHashes.length,
    proof.path,
    tree.root,
  );
}
