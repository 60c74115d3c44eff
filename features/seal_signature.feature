Feature: Seal signatures cover every field of a seal
  The VRAM manager seals a model shard by signing the canonical encoding of its seal fields with a
  key derived from the worker's token. Anyone who changes any field, or the signature, must be
  caught: by seal-crypto checking the fields signed with that same key, and by the manager, which
  stops serving when a presented seal does not match its signature. A seal made with another
  worker's key must not verify.

  Background:
    Given a VRAM manager with the worker token "worker-7 token: correct horse battery staple"
    When shard "llama-3-8b-shard-1" of 300000 bytes is sealed as part 1 of 4 of model "llama-3-8b"
    And the seal fields of shard "llama-3-8b-shard-1" are signed with the worker's seal key

  Scenario: An untouched seal verifies, in seal-crypto and in the manager
    Then the seal signature verifies
    And shard "llama-3-8b-shard-1" verifies
    And the narration has a "verify" event for shard "llama-3-8b-shard-1"
    And the audit log has a "seal_verified" event for shard "llama-3-8b-shard-1"

  Scenario Outline: A seal with a tampered <field> is rejected, and the manager stops on it
    When the seal field "<field>" is tampered with
    Then the seal signature is rejected
    When the seal field "<shard field>" of shard "llama-3-8b-shard-1" is changed
    And shard "llama-3-8b-shard-1" is verified
    Then the verification fails with check "signature"
    And the manager is stopped
    And the narration has a "verify_failed" event with:
      | level         | error     |
      | context.check | signature |
    And the audit log has a "seal_verification_failed" event with:
      | check | signature |

    Examples:
      | field       | shard field |
      | shardId     | shardId     |
      | device      | gpuDevice   |
      | byteLength  | vramBytes   |
      | digest      | digest      |
      | treeRoot    | treeRoot    |
      | leafSize    | leafSize    |
      | sealedAt    | sealedAt    |
      | modelRef    | modelRef    |
      | shardIndex  | shardIndex  |
      | totalShards | totalShards |
      | keyId       | keyId       |

  Scenario: A tampered signature is rejected, and the manager's own seal still holds
    When one bit of the signature is flipped
    Then the seal signature is rejected
    And shard "llama-3-8b-shard-1" verifies
    And the narration never shows a seal signature

  Scenario: A seal checked with another worker's key is rejected
    When the seal is checked with a key derived from the worker token "worker-8 token: a different secret"
    Then the seal signature is rejected
    And the narration names the seal key by its id only

  Scenario: A weak worker token is refused before any key or manager exists
    When a seal key is derived from the worker token "hunter2"
    Then key derivation fails with code "WEAK_SECRET"
    When a VRAM manager is created directly with the worker token "hunter2"
    Then the operation fails with code "CONFIG_ERROR"
    And the error does not echo the worker token "hunter2"
    And the narration has 1 "init" event
