Feature: Sealing a model shard into VRAM
  A model loader hands the worker a shard's bytes (or a file). The VRAM manager copies them into
  device memory, hashes them there, signs the seal, and says so in the narration and the audit log.
  Bad input is refused before any memory is taken, with an error that names what was wrong.

  Background:
    Given a VRAM manager on a mock GPU with 64 MiB

  Scenario: A shard is sealed, narrated and audited
    When shard "llama-3-8b-shard-0" of 3000000 bytes is sealed
    Then shard "llama-3-8b-shard-0" is resident
    And the VRAM in use is 3000000 bytes
    And shard "llama-3-8b-shard-0" verifies
    And the narration includes "Sealed shard llama-3-8b-shard-0"
    And the narration has a "seal" event with:
      | shard_id      | llama-3-8b-shard-0 |
      | device        | 0                  |
      | context.bytes | 3000000            |
    And the audit log has a "vram_sealed" event with:
      | shardId   | llama-3-8b-shard-0 |
      | vramBytes | 3000000            |
    And the audit log has a "vram_allocated" event for shard "llama-3-8b-shard-0"

  Scenario: The seal records the SHA-256 of exactly the bytes handed over
    When shard "published" of 1048576 bytes is sealed with its published SHA-256
    Then shard "published" verifies deeply
    And the narration has a "seal" event for shard "published"
    And the audit log has a "vram_sealed" event for shard "published"

  Scenario: A shard whose bytes do not have the expected SHA-256 is refused
    When sealing shard "corrupt-download" of 500000 bytes is attempted with the SHA-256 of other bytes
    Then the operation fails with code "INTEGRITY_VIOLATION"
    And shard "corrupt-download" is not resident
    And the VRAM in use is 0 bytes
    And the audit log has an "integrity_violation" event for shard "corrupt-download"
    And the narration has a "deallocate" event for shard "corrupt-download"

  Scenario Outline: A shard id that names a path is refused and audited
    When sealing 4096 bytes is attempted with the shard id "<id>"
    Then the operation fails with code "INVALID_INPUT"
    And the error names the argument "options.shardId"
    And the VRAM in use is 0 bytes
    And the audit log has a "path_traversal_attempt" event
    And the narration has a "validate_failed" event

    Examples:
      | id                  |
      | ../../etc/passwd    |
      | models/../../secret |
      | /etc/shadow         |

  Scenario Outline: A shard id with a control character is refused before anything is allocated
    When sealing 4096 bytes is attempted with the shard id "<id>"
    Then the operation fails with code "INVALID_INPUT"
    And the error names the argument "options.shardId"
    And the VRAM in use is 0 bytes
    And the audit log has no "vram_allocated" event
    And the narration has a "validate_failed" event at level "warn"

    Examples:
      | id               |
      | shard\u0000evil  |
      | shard\nINFO fake |
      | shard\u001b[31m  |

  Scenario: A shard larger than the free VRAM is refused with what it needed and what there was
    When shard "resident" of 16777216 bytes is sealed
    And sealing shard "too-big" of 60000000 bytes is attempted
    Then the operation fails with code "INSUFFICIENT_VRAM"
    And the error reports 60000000 bytes needed and 50331648 bytes available
    And shard "resident" is resident
    And the VRAM in use is 16777216 bytes
    And the narration has an "allocate_failed" event for shard "too-big"
    And the audit log has a "vram_allocation_failed" event for shard "too-big"

  Scenario: A shard that fills the device exactly fits
    When shard "exact-fit" of 64 MiB is sealed
    Then the available VRAM is 0 bytes
    And shard "exact-fit" verifies
    And a new seal is refused with code "INSUFFICIENT_VRAM"
    And the narration has a "seal" event for shard "exact-fit"

  Scenario: A shard is sealed straight from a weights file
    When shard "from-file" is sealed from a file of 9000000 bytes
    Then shard "from-file" verifies deeply
    And the narration has a "seal" event with:
      | shard_id      | from-file |
      | context.bytes | 9000000   |
    And the audit log has a "vram_sealed" event for shard "from-file"

  Scenario: A missing weights file is refused with the path's problem, and nothing is allocated
    When sealing shard "missing" from the missing file "nope.safetensors" is attempted
    Then the operation fails with code "INVALID_INPUT"
    And the error message includes "nope.safetensors"
    And the VRAM in use is 0 bytes
    And the narration has a "validate_failed" event

  Scenario: Aborting a seal midway frees everything it had taken
    When sealing shard "aborted" of 24 MiB is aborted after 2 chunks
    Then the operation fails with code "ABORTED"
    And shard "aborted" is not resident
    And the VRAM in use is 0 bytes
    And the available VRAM is 64 MiB
    And the narration has a "deallocate" event for shard "aborted"
    And the audit log has a "vram_deallocated" event for shard "aborted"

  Scenario: Two live shards cannot share an id
    When shard "twin" of 4096 bytes is sealed
    And sealing shard "twin" of 4096 bytes is attempted
    Then the operation fails with code "INVALID_INPUT"
    And the error names the argument "options.shardId"
    And 1 shard is resident
    And the narration has a "validate_failed" event

  Scenario: A seal on a device the GPU does not have is refused
    When sealing shard "nowhere" of 4096 bytes on device 3 is attempted
    Then the operation fails with code "INVALID_INPUT"
    And the error names the argument "options.device"
    And the VRAM in use is 0 bytes
    And the narration has a "validate_failed" event
