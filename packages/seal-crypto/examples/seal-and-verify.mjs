#!/usr/bin/env node
// Seal a model shard, verify the seal, then catch a one-bit change and prove which leaf it hit.
// Runs against the built package (dist/), the way a consumer would: node examples/seal-and-verify.mjs
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  deriveKey,
  inclusionProof,
  sha256,
  sha256Hex,
  shutdownTreeDigestPool,
  signSeal,
  timingSafeEqual,
  treeDigest,
  treeLeafHashes,
  verifyInclusion,
  verifySealSignature,
} from '@vramseal/seal-crypto';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '64' },
    'leaf-size': { type: 'string', default: '65536' },
  },
});
const size = Number(values['size-mib']) * 1024 * 1024;
const leafSize = Number(values['leaf-size']);
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const ms = (t0) => `${(performance.now() - t0).toFixed(1)} ms`;

// 1. The worker's key, derived from its token. Printing the key shows only its id.
const key = deriveKey(
  process.env.VRAMSEAL_DEMO_TOKEN ?? 'demo worker token: not for production',
  'seal',
);
console.log(`seal key ${key.id} (printing the key object shows: ${String(key)})`);

// 2. A shard of model weights (random bytes stand in for a real file).
const shard = new Uint8Array(randomBytes(size));
let t0 = performance.now();
const digest = sha256(shard);
console.log(`shard: ${size} bytes, sha256 ${hex(digest).slice(0, 16)}... (${ms(t0)})`);

// 3. The tree root over 64 KiB leaves, on every core, then the signature over every seal field.
t0 = performance.now();
const tree = await treeDigest(shard, { leafSize });
console.log(
  `tree root ${hex(tree.root).slice(0, 16)}... over ${tree.leafCount} leaves (${ms(t0)})`,
);
const fields = {
  keyId: key.id,
  shardId: 'demo-model/shard-0',
  device: 0,
  byteLength: shard.length,
  digest,
  treeRoot: tree.root,
  leafSize: tree.leafSize,
  sealedAt: Date.now(),
  modelRef: 'demo-model@1',
  shardIndex: 0,
  totalShards: 1,
};
const signature = signSeal(key, fields);
console.log(`sealed: signature ${hex(signature).slice(0, 16)}...`);
console.log(
  `verify untouched seal: ${verifySealSignature(key, fields, signature) ? 'OK' : 'FAILED'}`,
);

// 4. Somebody flips one bit of the weights. Re-hashing the tree from the bytes catches it.
const victim = Math.floor(Math.random() * shard.length);
shard[victim] ^= 0x10;
t0 = performance.now();
const again = await treeDigest(shard, { leafSize });
const intact = timingSafeEqual(again.root, tree.root);
console.log(
  `flipped one bit at byte ${victim}; re-verify: ${intact ? 'OK (not caught!)' : 'MISMATCH, caught'} (${ms(t0)})`,
);

// 5. A tampered seal field is caught by the signature alone.
const forged = { ...fields, byteLength: fields.byteLength + 1 };
console.log(
  `forged byteLength: signature ${verifySealSignature(key, forged, signature) ? 'accepted (!)' : 'rejected'}`,
);

// 6. Which leaf changed? The leaf's inclusion proof against the sealed root fails for it only.
const leafHashes = treeLeafHashes(shard, { leafSize });
const hit = Math.floor(victim / leafSize);
const proof = inclusionProof(hit, leafHashes);
const ok = verifyInclusion(leafHashes[hit], hit, leafHashes.length, proof, tree.root);
console.log(
  `leaf ${hit} against the sealed root: ${ok ? 'proves (!)' : 'does not prove: this is the changed leaf'}`,
);
console.log(`sha256 of "abc" for reference: ${sha256Hex(new TextEncoder().encode('abc'))}`);

await shutdownTreeDigestPool();
const caught = !intact && !ok && !verifySealSignature(key, forged, signature);
process.exitCode = caught ? 0 : 1;
