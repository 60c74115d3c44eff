Feature: An auditor can trust the audit trail
  Every seal the VRAM manager makes is recorded in its HMAC-chained, Merkle-checkpointed audit log.
  After the worker stops, an auditor holding the audit key and the checkpoint public key verifies
  the log offline; any edit is found at its record, and every record before it still verifies.
  The narration is a second, independent witness: it tells the same seals the log records, so an
  edited log also disagrees with it.

  Background:
    Given a VRAM manager with:
      | worker id    | worker-gpu-17                          |
      | worker token | worker-gpu-17 token: 4c8e1f0a9b7d2e65 |
    When 10 shards of 4096 bytes are sealed one after another
    And the worker shuts down

  Scenario: An untouched audit log verifies, and tells the same story as the narration
    Then the audit log verifies with 30 events
    And the audit log has 10 "vram_sealed" events
    And the audit log has 10 "vram_deallocated" events
    And the narration and the audit log agree on every sealed shard
    And every audit event carries the worker id and the scenario's correlation id

  Scenario: A changed field is found at its record
    When an attacker changes the vramBytes of the "vram_sealed" record of shard "shard-4"
    Then the audit log fails verification at that record with reason "mac_mismatch"
    And the auditor still trusts every record before it
    And the narration and the audit log disagree on the bytes of shard "shard-4"

  Scenario: A deleted record is found where it was
    When an attacker deletes the "vram_sealed" record of shard "shard-6"
    Then the audit log fails verification at that record with reason "seq_gap"
    And the auditor still trusts every record before it
    And the narration tells of sealing shard "shard-6", which the audit log no longer records

  Scenario: Swapped records are found at the first of them
    When an attacker swaps the "vram_sealed" records of shards "shard-2" and "shard-3"
    Then the audit log fails verification at that record with reason "seq_out_of_order"
    And the auditor still trusts every record before it
    And the narration tells of sealing shard "shard-2" before shard "shard-3", unlike the audit log
