Feature: An auditor can trust the audit trail
  Every seal is recorded in an HMAC-chained, Merkle-checkpointed audit log. An auditor holding the
  audit key and the checkpoint public key verifies it offline; any edit is found at its record.

  Background:
    Given an audit log for service "worker-gpu-17" keyed by the worker token "worker-gpu-17 token: 4c8e1f0a9b7d2e65"
    And 20 shards have been sealed and audited

  Scenario: An untouched audit log verifies
    When the auditor verifies the log
    Then the log verifies with 20 events

  Scenario: A changed field is found at its record
    When an attacker changes the vramBytes of record 7
    And the auditor verifies the log
    Then verification fails at record 7 with reason "mac_mismatch"

  Scenario: A deleted record is found where it was
    When an attacker deletes record 12
    And the auditor verifies the log
    Then verification fails at record 12 with reason "seq_gap"

  Scenario: Swapped records are found at the first of them
    When an attacker swaps records 3 and 4
    And the auditor verifies the log
    Then verification fails at record 3 with reason "seq_out_of_order"
