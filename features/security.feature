Feature: Security: what an attacker can change, and what never leaks
  The seal is an HMAC over every field, and the tree root commits to every byte in VRAM: either
  kind of change is caught. Worker tokens, keys, device pointers and handles never appear in any
  output (narration, audit log, errors, JSON, inspect, metrics), and text that could forge log
  lines is refused at the door.

  Background:
    Given a VRAM manager with the worker token "worker-gpu-17 token: 4c8e1f0a9b7d2e65aa31"
    And shard "qwen-72b-shard-3" of 2500000 bytes is sealed

  Scenario: The signature detects a changed seal field
    When the seal field "digest" of shard "qwen-72b-shard-3" is changed
    And shard "qwen-72b-shard-3" is verified
    Then the verification fails with check "signature"
    And the audit log has a "seal_verification_failed" event with:
      | shardId | qwen-72b-shard-3 |
      | check   | signature        |
    And the narration has a "verify_failed" event at level "error"

  Scenario: The tree root detects corrupted VRAM
    When byte 2400000 of shard "qwen-72b-shard-3" is XORed with 64 in device memory
    And shard "qwen-72b-shard-3" is verified
    Then the verification fails with check "tree_root"
    And the audit log has a "seal_verification_failed" event with:
      | shardId | qwen-72b-shard-3 |
      | check   | tree_root        |
    And the narration has a "verify_failed" event for shard "qwen-72b-shard-3"

  Scenario: The token and the keys appear in no output of a full run
    When shard "qwen-72b-shard-3" is verified deeply
    And shard "qwen-72b-shard-3" is attested with a fresh nonce
    And byte 3 of shard "qwen-72b-shard-3" is flipped in device memory
    And shard "qwen-72b-shard-3" is verified
    And operator "oncall@example.com" resets the manager because "drill: corrupted byte injected on purpose"
    Then no output of the scenario holds a secret
    And the narration contains no secret

  Scenario: The keys appear in no error, even when a seal is refused
    When sealing shard "refused" of 300000 bytes is attempted with the SHA-256 of other bytes
    Then the operation fails with code "INTEGRITY_VIOLATION"
    And no output of the scenario holds a secret

  Scenario: No device pointer or allocation handle appears in any output
    When shard "qwen-72b-shard-3" is verified deeply
    And shard "qwen-72b-shard-3" is deallocated
    Then no output of the scenario shows a pointer or handle
    And the narration shows no pointer or handle

  Scenario Outline: Text that could forge a log line is refused where it enters
    When sealing 4096 bytes is attempted with the model ref "<model ref>"
    Then the operation fails with code "INVALID_INPUT"
    And the error names the argument "options.modelRef"
    And the narration has a "validate_failed" event
    And the narration has no "seal" event for shard "shard-with-model-ref"

    Examples:
      | model ref                                           |
      | org/model\n{level:30,msg:sealed ok}                 |
      | org/model\r\nINFO verify ok                         |
      | org/model\u001b[2K\u001b[1Gverified                |
      | org/model\u2028second line                          |

  Scenario Outline: An operator name or reason that could forge a log line is refused
    When byte 0 of shard "qwen-72b-shard-3" is flipped in device memory
    And shard "qwen-72b-shard-3" is verified
    And operator "<operator>" attempts to reset the manager because "<reason>"
    Then the operation fails with code "INVALID_INPUT"
    And the manager is stopped
    And the audit log has no "vram_manager_reset" event
    And the narration has no "reset" event

    Examples:
      | operator                     | reason                          |
      | mallory\nINFO reset approved | looked fine                     |
      | oncall@example.com           | ok\u001b[1A\u001b[2Kall clear   |
