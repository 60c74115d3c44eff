Feature: The VRAM manager's audit trail
  Every security-relevant step of the manager lands in its HMAC-chained, Merkle-checkpointed audit
  log: allocations, seals, verifications (passed and failed), deallocations, policy violations and
  resets. An auditor verifies the log offline with the audit key and the checkpoint public key;
  any edit is found at its record, and a worker restart continues the same chain.

  Background:
    Given a VRAM manager

  Scenario: Every VRAM event of a shard's life is written, in order
    When shard "llama-3-8b-shard-0" of 1000000 bytes is sealed
    And shard "llama-3-8b-shard-0" is verified
    And shard "llama-3-8b-shard-0" is deallocated
    Then the audit log records for shard "llama-3-8b-shard-0" are, in order:
      | vram_allocated   |
      | vram_sealed      |
      | seal_verified    |
      | vram_deallocated |
    And the audit log verifies
    And the narration has a "deallocate" event for shard "llama-3-8b-shard-0"

  Scenario: Each record carries the worker, the shard and what was sealed
    When shard "llama-3-8b-shard-0" of 1000000 bytes is sealed
    Then the audit log has a "vram_sealed" event with:
      | shardId   | llama-3-8b-shard-0 |
      | gpuDevice | 0                  |
      | vramBytes | 1000000            |
      | workerId  | worker-bdd         |
    And the sealed digest and tree root of shard "llama-3-8b-shard-0" are in its audit record
    And every audit event carries the worker id and the scenario's correlation id
    And the narration has a "seal" event for shard "llama-3-8b-shard-0"

  Scenario: A verification failure is recorded with both roots
    When shard "s" of 300000 bytes is sealed
    And byte 100 of shard "s" is flipped in device memory
    And shard "s" is verified
    Then the verification fails with check "tree_root"
    And the audit log has a "seal_verification_failed" event with:
      | shardId | s         |
      | check   | tree_root |
    And the audit log verifies
    And the narration has a "verify_failed" event for shard "s"

  Scenario: An untouched log of a busy run verifies, with signed checkpoints
    When 10 shards of 50000 bytes are sealed concurrently
    And every sealed shard is verified concurrently
    Then the audit log verifies with 30 events
    And the narration has a "verify" event for shard "shard-10"

  Scenario: An edited record is found at its place by the auditor
    When shard "s" of 300000 bytes is sealed
    And shard "s" is verified
    And an attacker changes "vramBytes" of the first "vram_sealed" audit record
    Then the audit log fails verification at that record with reason "mac_mismatch"
    And the narration has a "seal" event for shard "s"

  Scenario: A restarted worker continues the same chain
    When shard "before" of 100000 bytes is sealed
    And the worker restarts
    And shard "after" of 100000 bytes is sealed
    Then the audit log has a "vram_sealed" event for shard "before"
    And the audit log has a "vram_sealed" event for shard "after"
    And the audit log has 2 "vram_allocated" events
    And the audit log verifies
    And the narration has an "init" event

  Scenario: A routine audit event is never on the failure path: a broken log does not fail a verify
    When shard "s" of 100000 bytes is sealed
    And the audit log's storage stops accepting writes
    And shard "s" is verified
    Then the verification passes
    And the lost audit write is counted and narrated as observability_degraded
    And the metric 'vram_observability_failures_total{sink="audit"}' is 1
