Feature: Shards in device memory, and what the device digest proves
  The VRAM manager copies a shard into device memory and re-hashes it there. The mock backend is a
  real device in host memory: real bytes, real bounds checks, and fault injection to play the
  attacker. Here the scenario also holds the device the manager runs on, so it can play another
  process beside the manager: take memory, read past its end, free it and use it after the free.

  Background:
    Given a VRAM manager on a mock GPU "bdd-gpu-0" of 64 MiB, shared with other processes
    When shard "llama-3-8b-shard-0" of 5000000 bytes is sealed

  Scenario: The device holds exactly the bytes that were handed over
    Then the digest of shard "llama-3-8b-shard-0" is the SHA-256 of the bytes handed over
    And the tree root of shard "llama-3-8b-shard-0", computed from device memory, equals the host tree digest of the same bytes
    And shard "llama-3-8b-shard-0" verifies deeply
    And the narration has a "verify" event with:
      | shard_id     | llama-3-8b-shard-0 |
      | context.deep | true               |
    And the audit log has a "seal_verified" event with:
      | shardId | llama-3-8b-shard-0 |
      | deep    | true               |

  Scenario Outline: One flipped bit anywhere in device memory is caught by the tree root
    When byte <offset> of shard "llama-3-8b-shard-0" is XORed with <mask> in device memory
    And shard "llama-3-8b-shard-0" is verified
    Then the verification fails with check "tree_root"
    And the manager stopped because of the "tree_root" check on shard "llama-3-8b-shard-0"
    And the narration has a "fault_injected" event with:
      | context.offset   | <offset> |
      | context.xor_mask | <mask>   |
    And the failed verification of shard "llama-3-8b-shard-0" is narrated with the sealed and the measured tree roots
    And the audit log records the sealed tree root of shard "llama-3-8b-shard-0" and a different one measured on the device

    Examples:
      | offset  | mask |
      | 0       | 1    |
      | 2500000 | 16   |
      | 4999999 | 128  |

  Scenario: Nothing reaches past the end of device memory
    When a fault at byte 5000000 of shard "llama-3-8b-shard-0" is attempted
    Then the operation fails with code "INVALID_INPUT"
    And the error names the argument "options.offset"
    And shard "llama-3-8b-shard-0" verifies
    And the narration has no "fault_injected" event
    Given another process holds 40 MiB of device 0
    Then reading 10 bytes at offset 41943035 of the other process's memory fails with code "OUT_OF_BOUNDS"

  Scenario: Memory another process holds is not the manager's to give, until it is freed
    Given another process holds 40 MiB of device 0
    Then the available VRAM is 20165824 bytes
    And the VRAM in use is 5000000 bytes
    When sealing shard "too-big" of 24 MiB is attempted
    Then the operation fails with code "INSUFFICIENT_VRAM"
    And the error reports 25165824 bytes needed and 20165824 bytes available
    And the narration has an "allocate_failed" event for shard "too-big"
    And the audit log has a "vram_allocation_failed" event for shard "too-big"
    When the other process frees its memory
    Then writing to the other process's freed memory fails with code "USE_AFTER_FREE"
    And the available VRAM is 62108864 bytes
    When shard "fits-now" of 24 MiB is sealed
    Then shard "fits-now" verifies
    And the narration has a "seal" event for shard "fits-now"

  Scenario: Memory beyond the device's capacity is refused by the manager before the device is asked
    When sealing shard "far-too-big" of 60 MiB is attempted
    Then the operation fails with code "INSUFFICIENT_VRAM"
    And the error reports 62914560 bytes needed and 62108864 bytes available
    And the VRAM in use is 5000000 bytes
    And the device itself refuses to allocate 60 MiB on device 0 with code "cudaErrorMemoryAllocation"
    And the narration has an "allocate_failed" event for shard "far-too-big"
    And the audit log has a "vram_allocation_failed" event for shard "far-too-big"

  Scenario: A deallocated shard's memory cannot be touched
    When shard "llama-3-8b-shard-0" is deallocated
    Then the VRAM in use is 0 bytes
    When a fault at byte 0 of shard "llama-3-8b-shard-0" is attempted
    Then the operation fails with code "NOT_SEALED"
    When shard "llama-3-8b-shard-0" is verified
    Then the verification fails with check "unknown_shard"
    And the narration has a "deallocate" event for shard "llama-3-8b-shard-0"
    And the narration has no "fault_injected" event
    And the audit log has a "vram_deallocated" event for shard "llama-3-8b-shard-0"

  Scenario: The mock backend is honest about what it is
    Given another process holds 1 MiB of device 0
    Then the manager says it is not VRAM-only
    And device 0 is reported as "bdd-gpu-0" with VRAM-only "no"
    And the other process's memory is "host" memory and the backend is not VRAM-only
    When shard "llama-3-8b-shard-0" is attested with a fresh nonce
    Then the attested memory type is "host"
    And the attestation verifies, accepting the mock's host memory
    And the attestation is rejected with reason "not_device_memory"
    And the narration has a "cuda_init" event at level "warn"
    And the narration has an "attest" event for shard "llama-3-8b-shard-0"
