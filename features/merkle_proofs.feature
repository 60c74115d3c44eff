Feature: Proving one leaf of a sealed shard without the rest
  The tree root of a seal is computed by the backend from device memory (native threads on the
  mock, the CUDA kernel on a GPU). It commits to every leaf of the shard: an auditor holding the
  bytes handed over computes the leaf hashes on the host, and an inclusion proof then shows that
  one leaf belongs to the sealed tree. A changed leaf, or a tree that does not extend the sealed
  one, must not verify; and three implementations of the tree must agree to the byte.

  Rule: Proofs against the root the manager sealed

    Background:
      Given a VRAM manager on a mock GPU with 64 MiB
      When shard "llama-3-8b-shard-1" of 1000000 bytes is sealed

    Scenario: The sealed tree root is the RFC 6962 root of the shard's leaves
      When the leaf hashes of shard "llama-3-8b-shard-1" are computed on the host
      Then the tree has 16 leaves
      And the sealed tree root equals the root recomputed from the leaf hashes
      And the "digest" event of shard "llama-3-8b-shard-1" narrates the tree root the host recomputed
      And the "seal" event of shard "llama-3-8b-shard-1" narrates the tree root the host recomputed

    Scenario Outline: A leaf proves against the sealed root; the same leaf changed does not, in the proof or on the device
      When an inclusion proof is made for leaf <leaf> of shard "llama-3-8b-shard-1"
      Then the proof verifies against the sealed tree root
      When byte <byte> of leaf <leaf> is changed
      Then the proof no longer verifies
      When byte <offset> of shard "llama-3-8b-shard-1" is flipped in device memory
      And shard "llama-3-8b-shard-1" is verified
      Then the verification fails with check "tree_root"
      And the failed verification of shard "llama-3-8b-shard-1" is narrated with the sealed and the measured tree roots
      And the audit log has a "seal_verification_failed" event with:
        | shardId | llama-3-8b-shard-1 |
        | check   | tree_root          |

      Examples:
        | leaf | byte  | offset |
        | 0    | 0     | 0      |
        | 7    | 65535 | 524287 |
        | 15   | 16959 | 999999 |

    Scenario: Appending whole leaves keeps the new seal consistent with the old one
      When shard "llama-3-8b-shard-2" of 655360 bytes is sealed
      And shard "llama-3-8b-shard-2-grown" is sealed from shard "llama-3-8b-shard-2" with 200000 more random bytes
      Then a consistency proof from the tree root of shard "llama-3-8b-shard-2" to that of shard "llama-3-8b-shard-2-grown" verifies
      And the "seal" event of shard "llama-3-8b-shard-2-grown" narrates the tree root the host recomputed

    Scenario: Appending to a shard that ends in a partial leaf rewrites that leaf
      The shard is 1000000 bytes: its last leaf holds 16960 bytes. Growing it fills that leaf, so
      the old tree is not a prefix of the new one and consistency must fail.
      When shard "llama-3-8b-shard-1-grown" is sealed from shard "llama-3-8b-shard-1" with 200000 more random bytes
      Then a consistency proof from the tree root of shard "llama-3-8b-shard-1" to that of shard "llama-3-8b-shard-1-grown" fails
      And the "seal" event of shard "llama-3-8b-shard-1-grown" narrates the tree root the host recomputed

  Rule: Three implementations of the tree agree

    Scenario Outline: The device's tree, seal-crypto's worker pool and a single thread agree on <bytes> bytes in leaves of <leaf size> bytes
      The manager hashes each 4 MiB segment on the device as it lands and joins the segment roots;
      seal-crypto's pool hashes 4 MiB jobs on worker threads; the single thread hashes every leaf
      in order and builds the tree from the leaf hashes. Sizes straddle those 4 MiB boundaries.
      Given a VRAM manager with:
        | mock devices | 64 MiB      |
        | leaf size    | <leaf size> |
      When shard "multi-chunk" of <bytes> bytes is sealed
      Then the manager's sealed tree root, seal-crypto's worker pool and a single-threaded recomputation agree on shard "multi-chunk"
      And the "digest" event of shard "multi-chunk" narrates the tree root the host recomputed
      And shard "multi-chunk" verifies

      Examples:
        | bytes    | leaf size |
        | 12582912 | 65536     |
        | 13000000 | 65536     |
        | 4194305  | 65536     |
        | 9000000  | 4096      |
        | 10485760 | 1048576   |
