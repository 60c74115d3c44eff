Feature: Metrics show what the VRAM manager did
  A scheduler and an operator watch the manager through Prometheus: seals and verifications by
  result, their durations, and the device memory in gauges that agree with the capacity queries.
  Every count here follows from the operations the scenario ran, and each is also narrated.

  Scenario: A fresh manager reports its device and zeroed counters
    Given a VRAM manager on a mock GPU with 64 MiB
    Then the metric 'vram_total_bytes{gpu_device="0"}' is 67108864
    And the metric 'vram_used_bytes{gpu_device="0"}' is 0
    And the metric 'vram_available_bytes{gpu_device="0"}' is 67108864
    And the metric 'vram_seal_operations_total{result="success"}' is 0
    And the metric 'vram_seal_operations_total{result="failure"}' is 0
    And the metric 'vram_verify_operations_total{result="success"}' is 0
    And the metric 'vram_seal_duration_seconds_count{result="success"}' is absent
    And the narration has an "init" event with:
      | context.devices | 1 |

  Scenario: Seals are counted and their bytes show in the gauges
    Given a VRAM manager on a mock GPU with 64 MiB
    When shard "a" of 1000000 bytes is sealed
    And shard "b" of 2000000 bytes is sealed
    And shard "c" of 3000000 bytes is sealed
    Then the metric 'vram_seal_operations_total{result="success"}' is 3
    And the metric 'vram_seal_operations_total{result="failure"}' is 0
    And the metric 'vram_seal_duration_seconds_count{result="success"}' is 3
    And the metric 'vram_used_bytes{gpu_device="0"}' is 6000000
    And the metric 'vram_available_bytes{gpu_device="0"}' is 61108864
    And the VRAM gauges agree with the capacity queries on every device
    And the metric 'vram_observability_failures_total{sink="narration"}' is 0
    And the metric 'vram_observability_failures_total{sink="audit"}' is 0
    And the narration has 3 "seal" events at level "info"

  Scenario: A seal refused for lack of VRAM is counted as a failure and takes nothing
    Given a VRAM manager on a mock GPU with 8 MiB
    When shard "fits" of 4 MiB is sealed
    And sealing shard "too-big" of 5 MiB is attempted
    Then the operation fails with code "INSUFFICIENT_VRAM"
    And the metric 'vram_seal_operations_total{result="success"}' is 1
    And the metric 'vram_seal_operations_total{result="failure"}' is 1
    And the metric 'vram_seal_duration_seconds_count{result="failure"}' is 1
    And the metric 'vram_used_bytes{gpu_device="0"}' is 4194304
    And the VRAM gauges agree with the capacity queries on every device
    And the narration has an "allocate_failed" event for shard "too-big"
    And the audit log has a "vram_allocation_failed" event for shard "too-big"

  Scenario: A seal refused at validation is not counted as a seal at all
    Given a VRAM manager on a mock GPU with 8 MiB
    When sealing 4096 bytes is attempted with the shard id "../../etc/passwd"
    Then the operation fails with code "INVALID_INPUT"
    And the metric 'vram_seal_operations_total{result="success"}' is 0
    And the metric 'vram_seal_operations_total{result="failure"}' is 0
    And the metric 'vram_seal_duration_seconds_count{result="failure"}' is absent
    And the narration has a "validate_failed" event
    And the audit log has a "path_traversal_attempt" event

  Scenario: A shard without its expected SHA-256 is a failed seal
    Given a VRAM manager on a mock GPU with 8 MiB
    When sealing shard "bad-download" of 500000 bytes is attempted with the SHA-256 of other bytes
    Then the operation fails with code "INTEGRITY_VIOLATION"
    And the metric 'vram_seal_operations_total{result="failure"}' is 1
    And the metric 'vram_used_bytes{gpu_device="0"}' is 0
    And the narration has a "seal" event at level "error"
    And the audit log has an "integrity_violation" event for shard "bad-download"

  Scenario: An aborted seal is a failed seal, and gives its memory back
    Given a VRAM manager on a mock GPU with 64 MiB
    When sealing shard "aborted" of 24 MiB is aborted after 2 chunks
    Then the operation fails with code "ABORTED"
    And the metric 'vram_seal_operations_total{result="failure"}' is 1
    And the metric 'vram_seal_operations_total{result="success"}' is 0
    And the metric 'vram_used_bytes{gpu_device="0"}' is 0
    And the narration has a "deallocate" event for shard "aborted"

  Scenario: Verifications are counted by result, and none while the manager is stopped
    Given a VRAM manager on a mock GPU with 64 MiB
    When shard "checked" of 1000000 bytes is sealed
    And shard "checked" is verified
    And shard "checked" is verified deeply
    Then the metric 'vram_verify_operations_total{result="success"}' is 2
    When byte 99 of shard "checked" is flipped in device memory
    And shard "checked" is verified
    Then the verification fails with check "tree_root"
    And the metric 'vram_verify_operations_total{result="failure"}' is 1
    And the metric 'vram_verify_duration_seconds_count{result="failure"}' is 1
    When shard "checked" is verified
    Then the operation fails with code "MANAGER_STOPPED"
    And the metric 'vram_verify_operations_total{result="failure"}' is 1
    And the metric 'vram_verify_operations_total{result="success"}' is 2
    And the metric 'vram_verify_duration_seconds_count{result="success"}' is 2
    And the narration has 1 "verify_failed" event
    And the audit log has 1 "seal_verification_failed" event

  Scenario: Deallocating gives the gauges their bytes back, and leaves the counters alone
    Given a VRAM manager on a mock GPU with 64 MiB
    When shard "temporary" of 3000000 bytes is sealed
    And shard "temporary" is deallocated
    Then the metric 'vram_used_bytes{gpu_device="0"}' is 0
    And the metric 'vram_available_bytes{gpu_device="0"}' is 67108864
    And the metric 'vram_seal_operations_total{result="success"}' is 1
    And the narration has a "deallocate" event for shard "temporary"
    And the audit log has a "vram_deallocated" event for shard "temporary"

  Scenario: Each device has its own gauges
    Given a VRAM manager on a mock GPU with 2 devices of 32 MiB
    When shard "on-one" of 5000000 bytes is sealed on device 1
    Then the metric 'vram_used_bytes{gpu_device="0"}' is 0
    And the metric 'vram_used_bytes{gpu_device="1"}' is 5000000
    And the metric 'vram_total_bytes{gpu_device="1"}' is 33554432
    And the metric 'vram_available_bytes{gpu_device="1"}' is 28554432
    And the VRAM gauges agree with the capacity queries on every device
    And the narration has a "seal" event with:
      | shard_id | on-one |
      | device   | 1      |

  Scenario: The available gauge leaves the headroom out
    Given a VRAM manager with:
      | mock devices | 64 MiB |
      | headroom     | 16 MiB |
    When shard "under-headroom" of 1048576 bytes is sealed
    Then the metric 'vram_total_bytes{gpu_device="0"}' is 67108864
    And the metric 'vram_available_bytes{gpu_device="0"}' is 49283072
    And the VRAM gauges agree with the capacity queries on every device
    And the narration has an "init" event with:
      | context.headroom_bytes | 16777216 |

  Scenario: A closed manager takes its metrics out of the registry
    Given a VRAM manager on a mock GPU with 64 MiB
    When shard "last" of 100000 bytes is sealed
    And the worker closes the VRAM manager
    Then the metrics exposition is empty
    And the narration has a "close" event
    And the audit log has a "vram_deallocated" event for shard "last"
