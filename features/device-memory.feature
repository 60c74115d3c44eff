Feature: Shards in device memory, and what the device digest proves
  A worker copies a shard into device memory and later re-hashes it there. The mock backend is a
  real device in host memory: real bytes, real bounds checks, and fault injection to play attacker.

  Background:
    Given a mock GPU backend with one device of 64 MiB
    And a model shard "llama-3-8b/shard-0" of 5000000 random bytes on device 0
    And the shard is copied to device memory

  Scenario: The device digest of a shard equals the host digest of the same bytes
    Then the device tree digest equals the host tree digest

  Scenario Outline: One flipped bit anywhere in device memory changes the tree root
    When device memory at byte <offset> is corrupted with mask <mask>
    Then the device tree digest no longer equals the host tree digest

    Examples:
      | offset  | mask |
      | 0       | 1    |
      | 2500000 | 16   |
      | 4999999 | 128  |

  Scenario: Reading past the end of an allocation is refused
    Then reading 10 bytes at offset 4999995 fails with code "OUT_OF_BOUNDS"

  Scenario: Memory beyond the device's capacity cannot be allocated
    Then allocating 60 MiB on device 0 fails with code "cudaErrorMemoryAllocation"

  Scenario: Freed memory cannot be written
    When the device memory is freed
    Then writing to the freed memory fails with code "USE_AFTER_FREE"

  Scenario: The mock backend is honest about what it is
    Then the backend says it is not VRAM-only and its memory type is "host"
