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

  Scenario: A tree that grew is consistent with its earlier root
    When the shard grows by 200000 random bytes
    Then a consistency proof from the old tree to the new tree verifies
