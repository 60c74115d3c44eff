Feature: The VRAM manager under load
  A worker seals, verifies and frees shards all day. Under a steady stream of operations, many
  small shards, a large model, or more demand than the device holds, every operation must still
  succeed or fail cleanly, the books must balance after every one of them (used + available =
  total, never more in use than the device has), memory must come back to zero, and the narration
  and the audit log must tell every operation exactly once. The time bounds below only stop a
  hang: they are far above what these runs take, and are not performance targets.

  Scenario: Rapid seal, verify and deallocate cycles leave nothing behind
    Given a VRAM manager on a mock GPU with 64 MiB
    When 200 seal, verify and deallocate cycles of 65536 bytes run one after another
    Then all 200 cycles completed
    And the VRAM in use peaked at 65536 bytes
    And the VRAM in use is 0 bytes
    And the available VRAM is 64 MiB
    And the load finished within 60 seconds
    And the narration has 200 "seal" events at level "info"
    And the narration has 200 "verify" events
    And every shard sealed was narrated once as sealed and once as released
    And the audit log has 200 "vram_sealed" events
    And the audit log has 200 "seal_verified" events
    And the audit log has 200 "vram_deallocated" events
    And the audit log verifies

  Scenario: Cycles running eight at a time never hold more than eight shards
    Given a VRAM manager on a mock GPU with 64 MiB
    When 160 seal, verify and deallocate cycles of 262144 bytes run 8 at a time
    Then all 160 cycles completed
    And the VRAM in use never exceeded 2 MiB and never the total
    And the VRAM in use is 0 bytes
    And the load finished within 60 seconds
    And every shard sealed was narrated once as sealed and once as released
    And the narration has 160 "verify" events
    And the narration has no "verify_failed" event
    And the audit log has 160 "vram_deallocated" events

  Scenario: Four hundred small shards are sealed, verified and freed
    Given a VRAM manager on a mock GPU with 64 MiB
    When 400 shards of 4096 bytes are sealed in batches of 50
    Then 400 shards are resident
    And the VRAM in use is 1638400 bytes
    And used plus available VRAM equals the total
    When every sealed shard is verified concurrently
    Then all 400 operations succeed
    When every resident shard is deallocated
    Then 0 shards are resident
    And the VRAM in use is 0 bytes
    And the load finished within 60 seconds
    And every shard sealed was narrated once as sealed and once as released
    And the audit log has 400 "vram_sealed" events
    And the audit log has 400 "vram_deallocated" events

  Scenario: A 128 MiB shard is sealed and verified against every byte
    Given a VRAM manager
    When shard "llama-3-70b-layer-block" of 128 MiB is sealed
    Then the VRAM in use is 134217728 bytes
    And shard "llama-3-70b-layer-block" verifies deeply
    And the narration has a "seal" event with:
      | shard_id      | llama-3-70b-layer-block |
      | context.bytes | 134217728               |
    And the narration has a "verify" event with:
      | shard_id     | llama-3-70b-layer-block |
      | context.deep | true                    |
    And the audit log has a "vram_sealed" event with:
      | shardId   | llama-3-70b-layer-block |
      | vramBytes | 134217728               |

  Scenario: A 96 MiB model in four tensor-parallel shards is verified as one set
    Given a VRAM manager
    When a model of 4 shards of 24 MiB is sealed as "mixtral-tp4"
    And the shard set of model "mixtral-tp4" is verified
    Then the operation succeeds
    And 4 shards are resident
    And the VRAM in use is 100663296 bytes
    And the load finished within 60 seconds
    And the narration has 4 "seal" events at level "info"
    And the narration has a "verify" event with:
      | shard_id     | mixtral-tp4-shard-3 |
      | context.deep | true                |
    And the audit log has 4 "vram_sealed" events

  Scenario: Waves of demand larger than the device never over-commit it
    Given a VRAM manager on a mock GPU with 32 MiB
    When 5 waves of 16 concurrent seals of 3 MiB run, each verified and then freed
    Then every wave sealed exactly 10 shards and refused the rest with code "INSUFFICIENT_VRAM"
    And the VRAM in use never exceeded 30 MiB and never the total
    And the VRAM in use is 0 bytes
    And the available VRAM is 32 MiB
    And the load finished within 60 seconds
    And the narration has 50 "seal" events at level "info"
    And the narration has 30 "seal" events at level "warn"
    And the narration has 30 "allocate_failed" events
    And the audit log has 30 "vram_allocation_failed" events
    And the audit log has 50 "vram_deallocated" events
    And the metric 'vram_seal_operations_total{result="success"}' is 50
    And the metric 'vram_seal_operations_total{result="failure"}' is 30

  Scenario: Headroom is kept free under load
    Given a VRAM manager with:
      | mock devices | 32 MiB |
      | headroom     | 8 MiB  |
    When 3 waves of 16 concurrent seals of 3 MiB run, each verified and then freed
    Then every wave sealed exactly 8 shards and refused the rest with code "INSUFFICIENT_VRAM"
    And the VRAM in use never exceeded 24 MiB and never the total
    And the VRAM in use is 0 bytes
    And the narration has 24 "allocate_failed" events
    And the audit log has 24 "vram_allocation_failed" events
