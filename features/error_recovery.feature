Feature: Recovering from failures
  Failures happen: a download is corrupt, an operator drills a tamper, a caller passes garbage. The
  manager refuses what is wrong, keeps what was right, tells the operator, and comes back into
  service only when someone who is accountable says so, on the record.

  Scenario: After a failed seal the next seal succeeds and nothing leaked
    Given a VRAM manager on a mock GPU with 16 MiB
    When sealing shard "bad-download" of 4000000 bytes is attempted with the SHA-256 of other bytes
    And shard "good-download" of 4000000 bytes is sealed with its published SHA-256
    Then shard "good-download" verifies
    And the VRAM in use is 4000000 bytes
    And the manager is ready
    And the narration has a "seal" event for shard "good-download"
    And the audit log has an "integrity_violation" event for shard "bad-download"

  Scenario: A verification failure stops the manager; an operator's reset is audited and resumes service
    Given a VRAM manager
    And shard "gemma-2-9b-shard-0" of 1000000 bytes is sealed
    When byte 77 of shard "gemma-2-9b-shard-0" is flipped in device memory
    And shard "gemma-2-9b-shard-0" is verified
    Then the verification fails with check "tree_root"
    And the manager is stopped
    And a new seal is refused with code "MANAGER_STOPPED"
    When shard "gemma-2-9b-shard-0" is deallocated
    And operator "oncall@example.com" resets the manager because "re-sealing gemma-2-9b from the registry copy"
    Then the manager is ready
    And a new seal succeeds
    And the audit log has a "vram_manager_reset" event with:
      | operator | oncall@example.com                             |
      | reason   | re-sealing gemma-2-9b from the registry copy |
    And the narration has a "reset" event
    And the audit log verifies

  Scenario: Reset repairs nothing: the tampered shard still fails until it is sealed again
    Given a VRAM manager
    And shard "phi-3-shard-0" of 700000 bytes is sealed
    When byte 5 of shard "phi-3-shard-0" is flipped in device memory
    And shard "phi-3-shard-0" is verified
    And operator "oncall@example.com" resets the manager because "investigating"
    And shard "phi-3-shard-0" is verified
    Then the verification fails with check "tree_root"
    And the manager is stopped
    And the audit log has 2 "seal_verification_failed" events
    And the narration has a "verify_failed" event for shard "phi-3-shard-0"

  Scenario: Resetting a ready manager changes nothing and says so
    Given a VRAM manager
    When operator "oncall@example.com" resets the manager because "routine check"
    Then the manager is ready
    And the audit log has no "vram_manager_reset" event
    And the narration has a "reset" event

  Scenario: A reset needs an operator and a reason
    Given a VRAM manager
    And shard "s" of 4096 bytes is sealed
    When byte 1 of shard "s" is flipped in device memory
    And shard "s" is verified
    And operator "" attempts to reset the manager because "no name given"
    Then the operation fails with code "INVALID_INPUT"
    And the manager is stopped
    And the narration has no "reset" event

  Scenario: Deallocation and capacity queries keep working while stopped
    Given a VRAM manager on a mock GPU with 16 MiB
    And shard "a" of 1000000 bytes is sealed
    And shard "b" of 1000000 bytes is sealed
    When byte 9 of shard "a" is flipped in device memory
    And shard "a" is verified
    And shard "a" is deallocated
    And shard "b" is deallocated
    Then the manager is stopped
    And the VRAM in use is 0 bytes
    And the available VRAM is 16 MiB
    And the narration has a "deallocate" event for shard "b"

  Scenario Outline: Invalid input is refused, and the manager goes on serving
    Given a VRAM manager
    When sealing 4096 bytes is attempted with the shard id "<id>"
    Then the operation fails with code "INVALID_INPUT"
    And the manager is ready
    And a new seal succeeds
    And the narration has a "validate_failed" event

    Examples:
      | id                  |
      |                     |
      | has space           |
      | ../escape           |
      | émoji-🚀            |

  Scenario: A zero-byte model is refused: there is nothing to seal
    Given a VRAM manager
    When sealing shard "empty" of 0 bytes is attempted
    Then the operation fails with code "INVALID_INPUT"
    And the error message includes "at least one byte"
    And the VRAM in use is 0 bytes
    And the narration has a "validate_failed" event

  Scenario: A weak worker token is refused at start, without being repeated anywhere
    When a VRAM manager is created with:
      | worker token | aaaaaaaaaaaaaaaaaaaa |
    Then the operation fails with code "CONFIG_ERROR"
    And the error message includes "workerToken"
    And no output of the scenario holds a secret

  Scenario: A restart after a failure starts ready, with the failure still on the record
    Given a VRAM manager
    And shard "llama-shard" of 300000 bytes is sealed
    When byte 0 of shard "llama-shard" is flipped in device memory
    And shard "llama-shard" is verified
    And the worker restarts
    Then the manager is ready
    And 0 shards are resident
    And the audit log has a "seal_verification_failed" event for shard "llama-shard"
    And the audit log verifies
    And the narration has an "init" event
