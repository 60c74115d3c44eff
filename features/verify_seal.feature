Feature: Verifying a seal before every inference
  Before each inference the worker asks the VRAM manager whether the shard in device memory is
  still the one it sealed. Any change (to the seal's fields, its signature, or the bytes in VRAM)
  fails verification, names the check that caught it, is audited as critical, and stops the
  manager until an operator resets it.

  Background:
    Given a VRAM manager
    And shard "llama-3-8b-shard-0" of 2000000 bytes is sealed

  Scenario: A valid seal verifies
    When shard "llama-3-8b-shard-0" is verified
    Then the verification passes
    And the manager is ready
    And the narration includes "Verified shard llama-3-8b-shard-0"
    And the narration has a "verify" event with:
      | shard_id      | llama-3-8b-shard-0 |
      | context.deep  | false              |
    And the audit log has a "seal_verified" event for shard "llama-3-8b-shard-0"

  Scenario Outline: A tampered seal field fails the signature check
    When the seal field "<field>" of shard "llama-3-8b-shard-0" is changed
    And shard "llama-3-8b-shard-0" is verified
    Then the verification fails with check "signature"
    And the manager is stopped
    And the manager stopped because of the "signature" check on shard "<stopped on>"
    And the narration has a "verify_failed" event at level "error"
    And the audit log has a "seal_verification_failed" event with:
      | check | signature |

    Examples:
      | field       | stopped on          |
      | digest      | llama-3-8b-shard-0  |
      | treeRoot    | llama-3-8b-shard-0  |
      | vramBytes   | llama-3-8b-shard-0  |
      | leafSize    | llama-3-8b-shard-0  |
      | sealedAt    | llama-3-8b-shard-0  |
      | modelRef    | llama-3-8b-shard-0  |
      | keyId       | llama-3-8b-shard-0  |
      | shardIndex  | llama-3-8b-shard-0  |

  Scenario: A forged copy without the manager's signature fails the signature check
    When a copy of shard "llama-3-8b-shard-0" that lost its signature is verified
    Then the verification fails with check "signature"
    And the manager is stopped
    And the narration has a "verify_failed" event for shard "llama-3-8b-shard-0"
    And the audit log has a "seal_verification_failed" event for shard "llama-3-8b-shard-0"

  Scenario Outline: One flipped bit in device memory fails the tree-root check
    When byte <offset> of shard "llama-3-8b-shard-0" is XORed with <mask> in device memory
    And shard "llama-3-8b-shard-0" is verified
    Then the verification fails with check "tree_root"
    And the manager stopped because of the "tree_root" check on shard "llama-3-8b-shard-0"
    And the narration has a "fault_injected" event at level "warn"
    And the narration has a "verify_failed" event at level "error"
    And the audit log has a "seal_verification_failed" event with:
      | shardId | llama-3-8b-shard-0 |
      | check   | tree_root          |

    Examples:
      | offset  | mask |
      | 0       | 1    |
      | 65535   | 128  |
      | 65536   | 2    |
      | 1999999 | 255  |

  Scenario: A failed verification stops every other operation until a reset
    When byte 1000 of shard "llama-3-8b-shard-0" is flipped in device memory
    And shard "llama-3-8b-shard-0" is verified
    Then the verification fails with check "tree_root"
    And a new seal is refused with code "MANAGER_STOPPED"
    And the error message includes "tree_root"
    And the narration has a "verify_failed" event for shard "llama-3-8b-shard-0"

  Scenario: A failed verification is durable in the audit log before the call returns
    When byte 7 of shard "llama-3-8b-shard-0" is flipped in device memory
    And shard "llama-3-8b-shard-0" is verified and the audit log is read from disk as the call returns
    Then the verification fails with check "tree_root"
    And the audit log read at that moment has a "seal_verification_failed" event for shard "llama-3-8b-shard-0"
    And the audit log has 1 "seal_verification_failed" event
    And the audit log verifies
    And the narration has a "verify_failed" event with:
      | shard_id | llama-3-8b-shard-0 |
      | level    | error              |
