export {
  ATTESTATION_PAYLOAD_TAG,
  ATTESTATION_PAYLOAD_VERSION,
  type AttestationFields,
  encodeAttestationPayload,
} from './attestation/payload.js';
export { signAttestation, verifyAttestationSignature } from './attestation/signature.js';
export {
  SEAL_CRYPTO_ERROR_CODES,
  SealCryptoError,
  type SealCryptoErrorCode,
} from './errors/errors.js';
export { hmacSha256, hmacSha256Hex } from './hash/hmac.js';
export { createSha256, type Sha256, sha256, sha256Hex } from './hash/sha256.js';
export { timingSafeEqual } from './hash/timing-safe-equal.js';
export { deriveKey, HKDF_SALT, KEY_DERIVATION_LABELS } from './key/derive-key.js';
export { hkdfSha256 } from './key/hkdf.js';
export { loadKeyFile } from './key/key-file.js';
export { type KeyPurpose, SecretKey } from './key/secret-key.js';
export { leafHash, nodeHash } from './merkle/hash.js';
export { consistencyProof, inclusionProof, merkleRoot } from './merkle/tree.js';
export { verifyConsistency, verifyInclusion } from './merkle/verify.js';
export {
  encodeSealPayload,
  SEAL_PAYLOAD_TAG,
  SEAL_PAYLOAD_VERSION,
  type SealFields,
} from './seal/payload.js';
export { signSeal, verifySealSignature } from './seal/signature.js';
export type {
  TreeDigest,
  TreeDigestOptions,
  TreeDigestSyncOptions,
} from './tree-digest/options.js';
export { treeDigestPoolSize } from './tree-digest/pool.js';
export { shutdownTreeDigestPool, treeDigest } from './tree-digest/tree-digest.js';
export { treeDigestSync, treeLeafHashes } from './tree-digest/tree-digest-sync.js';
