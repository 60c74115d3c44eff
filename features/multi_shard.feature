Feature: Many shards, several devices, tensor-parallel sets
  A worker holds many shards at once, of different sizes, over several devices. Each is sealed and
  verified on its own: tampering with one is found in that one and no other. A tensor-parallel
  model is verified as a set: every part present exactly once, all of one model.

  Background:
    Given a VRAM manager on a mock GPU with 2 devices of 64 MiB

  Scenario: Several shards sealed at once are each resident and verify independently
    When these shards are sealed concurrently:
      | shard   | size    | device |
      | layer-0 | 4 MiB   | 0      |
      | layer-1 | 3 MiB   | 1      |
      | layer-2 | 1000000 | 0      |
      | layer-3 | 65536   | 1      |
    Then 4 shards are resident
    And the VRAM in use on device 0 is 5194304 bytes
    And the VRAM in use on device 1 is 3211264 bytes
    And shard "layer-0" verifies
    And shard "layer-3" verifies
    And the narration has a "seal" event for shard "layer-2"
    And the audit log has 4 "vram_sealed" events

  Scenario Outline: Tampering in one of many shards is found in exactly that one
    When these shards are sealed concurrently:
      | shard   | size   |
      | part-a  | 500000 |
      | part-b  | 700000 |
      | part-c  | 900000 |
    And byte 12345 of shard "<victim>" is flipped in device memory
    And every sealed shard is verified concurrently
    Then exactly shard "<victim>" failed verification with check "tree_root"
    And the metric 'vram_verify_operations_total{result="failure"}' is at least 1
    And the audit log has 1 "seal_verification_failed" event
    And the audit log has a "seal_verification_failed" event for shard "<victim>"
    And the narration has a "verify_failed" event for shard "<victim>"

    Examples:
      | victim |
      | part-a |
      | part-c |

  Scenario: Shards of very different sizes each verify
    When these shards are sealed concurrently:
      | shard | size   |
      | one   | 1      |
      | small | 63     |
      | leaf  | 65536  |
      | odd   | 65537  |
      | big   | 9 MiB  |
    Then shard "one" verifies deeply
    And shard "small" verifies deeply
    And shard "leaf" verifies deeply
    And shard "odd" verifies deeply
    And shard "big" verifies deeply
    And the narration has a "seal" event with:
      | shard_id      | one |
      | context.bytes | 1   |

  Scenario: Shards fill the devices, then the next one is refused and nothing is over-committed
    When shard "fill-0" of 60 MiB is sealed on device 0
    And shard "fill-1" of 60 MiB is sealed on device 1
    And sealing shard "one-too-many" of 8 MiB is attempted
    Then the operation fails with code "INSUFFICIENT_VRAM"
    And the total VRAM is 128 MiB
    And the available VRAM on device 0 is 4194304 bytes
    And the available VRAM on device 1 is 4194304 bytes
    And the VRAM in use is 125829120 bytes
    And used plus available VRAM equals the total
    And the narration has an "allocate_failed" event for shard "one-too-many"

  Scenario: "auto" places a shard on the device with the most free memory
    When shard "first" of 8 MiB is sealed on device 0
    And shard "placed" of 1 MiB is sealed
    Then the VRAM in use on device 1 is 1048576 bytes
    And the narration has a "seal" event with:
      | shard_id | placed |
      | device   | 1      |

  Scenario: A complete tensor-parallel set verifies as one
    When shard "tp-0" of 300000 bytes is sealed as part 0 of 3 of model "meta-llama/Llama-3-70B@main"
    And shard "tp-1" of 300000 bytes is sealed as part 1 of 3 of model "meta-llama/Llama-3-70B@main"
    And shard "tp-2" of 300000 bytes is sealed as part 2 of 3 of model "meta-llama/Llama-3-70B@main"
    And the shard set "tp-0, tp-1, tp-2" is verified
    Then the verification passes
    And the audit log has 3 "seal_verified" events
    And the narration has a "verify" event for shard "tp-2"

  Scenario: A set with a missing part is refused without stopping the manager
    When shard "tp-0" of 300000 bytes is sealed as part 0 of 3 of model "meta-llama/Llama-3-70B@main"
    And shard "tp-2" of 300000 bytes is sealed as part 2 of 3 of model "meta-llama/Llama-3-70B@main"
    And the shard set "tp-0, tp-2" is verified
    Then the operation fails with code "INVALID_INPUT"
    And the error message includes "missing index 1"
    And the manager is ready
    And the narration has a "validate_failed" event

  Scenario: A set that holds one part twice is refused
    When shard "tp-0" of 300000 bytes is sealed as part 0 of 2 of model "meta-llama/Llama-3-70B@main"
    And shard "tp-0-again" of 300000 bytes is sealed as part 0 of 2 of model "meta-llama/Llama-3-70B@main"
    And the shard set "tp-0, tp-0-again" is verified
    Then the operation fails with code "INVALID_INPUT"
    And the error message includes "duplicates shard index 0"
    And the manager is ready
    And the narration has a "validate_failed" event

  Scenario: A set that mixes two models is refused
    When shard "a-0" of 300000 bytes is sealed as part 0 of 2 of model "org/model-a@v1"
    And shard "b-1" of 300000 bytes is sealed as part 1 of 2 of model "org/model-b@v1"
    And the shard set "a-0, b-1" is verified
    Then the operation fails with code "INVALID_INPUT"
    And the error message includes "mixes model refs"
    And the manager is ready
    And the narration has a "validate_failed" event

  Scenario: A set with one tampered part fails, naming that part
    When shard "tp-0" of 300000 bytes is sealed as part 0 of 2 of model "org/model@v1"
    And shard "tp-1" of 300000 bytes is sealed as part 1 of 2 of model "org/model@v1"
    And byte 42 of shard "tp-1" is flipped in device memory
    And the shard set "tp-0, tp-1" is verified
    Then the verification fails with check "tree_root"
    And the manager stopped because of the "tree_root" check on shard "tp-1"
    And the audit log has a "seal_verification_failed" event for shard "tp-1"
    And the narration has a "verify_failed" event for shard "tp-1"
