Feature: Proving one leaf of a shard without the rest
  The tree root of a shard commits to every leaf. An inclusion proof shows one leaf belongs to the
  tree; a changed leaf, or a proof for another position, must not verify.

  Background:
    Given a model shard "llama-3-8b/shard-1" of 1000000 random bytes on device 0
    And its tree digest with leaves of 65536 bytes

  Scenario: The tree digest matches a single-threaded recomputation
    Then the tree has 16 leaves
    And the tree root equals the root recomputed from the leaf hashes

  Scenario Outline: An inclusion proof for a leaf verifies, and a changed leaf does not
    When an inclusion proof is made for leaf <leaf>
    Then the proof verifies against the tree root
    When byte <byte> of leaf <leaf> is changed
    Then the proof no longer verifies

    Examples:
      | leaf | byte  |
      | 0    | 0     |
      | 7    | 65535 |
      | 15   | 16959 |

  Scenario: Appending whole leaves keeps the tree consistent with its earlier root
    Given a model shard "llama-3-8b/shard-2" of 655360 random bytes on device 0
    And its tree digest with leaves of 65536 bytes
    When the shard grows by 200000 random bytes
    Then a consistency proof from the old tree to the new tree verifies

  Scenario: Appending to a shard that ends in a partial leaf rewrites that leaf
    The background shard is 1000000 bytes: its last leaf holds 16960 bytes. Growing the shard
    fills that leaf, so the old tree is not a prefix of the new one and consistency must fail.
    When the shard grows by 200000 random bytes
    Then a consistency proof from the old tree to the new tree does not verify
