Feature: Verification across a shard's life
  A shard is verified right after sealing, again and again while it serves, deeply when an
  operator wants every byte re-hashed, and never once it is gone. A shard the manager did not seal
  here, or no longer holds, is not "verified": it is an error that says so.

  Background:
    Given a VRAM manager
    And shard "mistral-7b-shard-1" of 1500000 bytes is sealed

  Scenario: A freshly sealed shard verifies at once
    When shard "mistral-7b-shard-1" is verified
    Then the verification passes
    And the narration has a "verify" event for shard "mistral-7b-shard-1"
    And the audit log has a "seal_verified" event for shard "mistral-7b-shard-1"

  Scenario: A shard still verifies after a while, and after many verifications
    When 200 milliseconds pass
    And shard "mistral-7b-shard-1" is verified 20 times one after another
    Then the verification passes
    And the audit log has 20 "seal_verified" events
    And the narration has a "verify" event for shard "mistral-7b-shard-1"

  Scenario: A deep verification re-hashes every byte and says so
    When shard "mistral-7b-shard-1" is verified deeply
    Then the verification passes
    And the narration has a "verify" event with:
      | shard_id     | mistral-7b-shard-1 |
      | context.deep | true               |
    And the audit log has a "seal_verified" event with:
      | shardId | mistral-7b-shard-1 |
      | deep    | true               |

  Scenario: A deep verification catches a change the tree would also catch, naming the tree root
    When byte 999999 of shard "mistral-7b-shard-1" is flipped in device memory
    And shard "mistral-7b-shard-1" is verified deeply
    Then the verification fails with check "tree_root"
    And the manager is stopped
    And the narration has a "verify_failed" event for shard "mistral-7b-shard-1"

  Scenario: A shard whose signature is missing is refused as unsigned
    When a copy of shard "mistral-7b-shard-1" that lost its signature is verified
    Then the verification fails with check "signature"
    And the error message includes "signature"
    And the narration has a "verify_failed" event at level "error"

  Scenario: A deallocated shard cannot be verified
    When shard "mistral-7b-shard-1" is deallocated
    And shard "mistral-7b-shard-1" is verified
    Then the verification fails with check "unknown_shard"
    And the manager is stopped
    And the narration has a "deallocate" event for shard "mistral-7b-shard-1"
    And the audit log has a "vram_deallocated" event for shard "mistral-7b-shard-1"

  Scenario: A deallocated shard cannot be deallocated again
    When shard "mistral-7b-shard-1" is deallocated
    And deallocating shard "mistral-7b-shard-1" is attempted
    Then the operation fails with code "NOT_SEALED"
    And the VRAM in use is 0 bytes
    And the narration has a "deallocate" event for shard "mistral-7b-shard-1"

  Scenario: A shard sealed by another manager is unknown here
    Given another VRAM manager on the same worker
    When shard "mistral-7b-shard-1" is verified by the other manager
    Then the verification fails with check "unknown_shard"
    And the narration has a "verify_failed" event for shard "mistral-7b-shard-1"

  Scenario: Verification leaves the shard in place and the capacity unchanged
    When shard "mistral-7b-shard-1" is verified deeply
    Then the verification passes
    And the VRAM in use is 1500000 bytes
    And used plus available VRAM equals the total
    And the narration has a "verify" event for shard "mistral-7b-shard-1"
