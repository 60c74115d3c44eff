Feature: Seal signatures cover every field of a seal
  A worker seals a model shard by signing the canonical encoding of its seal fields with a key
  derived from its token. Anyone who changes any field, or the signature, must be caught, and a
  seal made with another worker's key must not verify.

  Background:
    Given a seal key derived from the worker token "worker-7 token: correct horse battery staple"
    And a model shard "llama-3-8b/shard-0" of 300000 random bytes on device 0
    And the shard is sealed

  Scenario: An untouched seal verifies
    Then the seal signature verifies

  Scenario Outline: A signature over a tampered field is rejected
    When the seal field "<field>" is tampered with
    Then the seal signature is rejected

    Examples:
      | field       |
      | shardId     |
      | device      |
      | byteLength  |
      | digest      |
      | treeRoot    |
      | leafSize    |
      | sealedAt    |
      | modelRef    |
      | shardIndex  |
      | totalShards |
      | keyId       |

  Scenario: A tampered signature is rejected
    When one bit of the signature is flipped
    Then the seal signature is rejected

  Scenario: A seal checked with another worker's key is rejected
    When the seal is checked with a key derived from the worker token "worker-8 token: a different secret"
    Then the seal signature is rejected

  Scenario: A weak worker token is refused before any key exists
    When a seal key is derived from the worker token "short"
    Then key derivation fails with code "WEAK_SECRET"
