Feature: Concurrent access from an inference server
  An inference server seals, verifies and frees shards from many requests at once. Concurrent
  operations never over-commit a device, never see half-made seals, and leave the books balanced.

  Background:
    Given a VRAM manager on a mock GPU with 32 MiB

  Scenario: Concurrent seals all land, each with its own memory
    When 8 shards of 1000000 bytes are sealed concurrently
    Then 8 shards are resident
    And the VRAM in use is 8000000 bytes
    And shard "shard-1" verifies
    And shard "shard-8" verifies
    And the audit log has 8 "vram_sealed" events
    And the narration has a "seal" event for shard "shard-5"

  Scenario: Many verifications of one shard at once all pass
    When shard "hot" of 2000000 bytes is sealed
    And shard "hot" is verified 16 times concurrently
    Then all 16 operations succeed
    And the audit log has 16 "seal_verified" events
    And the manager is ready
    And the narration has a "verify" event for shard "hot"

  Scenario: Seals, verifications and deallocations interleave without losing track
    When shard "keep" of 1000000 bytes is sealed
    And shard "drop" of 1000000 bytes is sealed
    And shard "keep" is verified, shard "drop" is deallocated and shard "new" of 1000000 bytes is sealed, all at once
    Then all 3 operations succeed
    And shard "keep" is resident
    And shard "new" is resident
    And shard "drop" is not resident
    And the VRAM in use is 2000000 bytes
    And the narration has a "deallocate" event for shard "drop"
    And the audit log has a "vram_deallocated" event for shard "drop"

  Scenario: A deallocation waits for the verifications already reading the shard
    When shard "busy" of 4000000 bytes is sealed
    And shard "busy" is verified 4 times while it is deallocated
    Then the 4 verifications pass and the shard is freed afterwards
    And the VRAM in use is 0 bytes
    And the narration has a "deallocate" event for shard "busy"

  Scenario: Capacity queries during seals always add up
    When 6 seals of 4 MiB run while capacity is queried 50 times
    Then every capacity answer had used plus available equal to the total
    And the VRAM in use is 25165824 bytes
    And the narration has a "capacity_query" event at level "debug"

  Scenario: Sealing until the device is full never over-commits
    When 12 seals of 4 MiB are attempted concurrently
    Then 8 of the seals succeed and the rest fail with code "INSUFFICIENT_VRAM"
    And the VRAM in use is 33554432 bytes
    And the available VRAM is 0 bytes
    And used plus available VRAM equals the total
    And the audit log has 4 "vram_allocation_failed" events
    And the narration has an "allocate_failed" event at level "warn"
