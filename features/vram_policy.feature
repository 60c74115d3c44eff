Feature: VRAM-only policy and residency attestation
  Weights must live in device memory, never in host memory a process can page, copy or read. The
  manager checks this at start and on demand, is honest that the mock backend is host memory, and
  signs attestations a remote verifier can check against a fresh nonce and its public key.

  Scenario: A manager that requires VRAM-only refuses the mock backend at start
    When a VRAM manager is created with:
      | mock devices | 64 MiB |
      | VRAM-only    | yes    |
    Then the operation fails with code "CONFIG_ERROR"
    And the error message includes "mock"
    And the narration contains no secret

  Scenario: On the mock, enforcing the policy reports the mock as a violation, audited
    Given a VRAM manager on a mock GPU with 64 MiB
    When the VRAM-only policy is enforced
    Then the operation fails with code "POLICY_VIOLATION"
    And the policy violations are "mock_backend"
    And the manager says it is not VRAM-only
    And the audit log has a "policy_violation" event
    And the narration has a "policy_violation" event at level "error"

  Scenario: The mock is honest about its memory in the device report
    Given a VRAM manager on a mock GPU with 2 devices of 64 MiB
    Then device 0 is reported as "mock-0" with VRAM-only "no"
    And device 1 is reported as "mock-1" with VRAM-only "no"
    And the narration has a "cuda_init" event at level "warn"

  Scenario: An attestation of a sealed shard verifies with the manager's key and the nonce
    Given a VRAM manager
    And shard "llama-3-8b-shard-0" of 1000000 bytes is sealed
    When shard "llama-3-8b-shard-0" is attested with a fresh nonce
    Then the attestation verifies, accepting the mock's host memory
    And the attested memory type is "host"
    And the narration has an "attest" event for shard "llama-3-8b-shard-0"

  Scenario: The mock's attestation does not pass as device memory
    Given a VRAM manager
    And shard "s" of 100000 bytes is sealed
    When shard "s" is attested with a fresh nonce
    Then the attestation is rejected with reason "not_device_memory"
    And the narration has an "attest" event for shard "s"

  Scenario Outline: A changed attestation statement fails the signature
    Given a VRAM manager
    And shard "s" of 100000 bytes is sealed
    When shard "s" is attested with a fresh nonce
    And the attested "<field>" is changed
    Then the attestation is rejected with reason "bad_signature"
    And the narration has an "attest" event for shard "s"

    Examples:
      | field            |
      | shard.digest     |
      | shard.treeRoot   |
      | shard.vramBytes  |
      | device.uuid      |
      | attestedAt       |

  Scenario: A measurement that differs from the seal is caught even when validly signed
    The verifier compares the measured tree root with the sealed one itself: a statement signed by
    a compromised or buggy signer does not vouch for memory that changed.
    Given a VRAM manager
    And shard "s" of 100000 bytes is sealed
    When shard "s" is attested with a fresh nonce
    And the attested measurement drifts and the statement is signed again with the manager's key
    Then the attestation is rejected with reason "tree_root_mismatch"
    And the narration has an "attest" event for shard "s"

  Scenario: A changed measurement without a new signature fails the signature first
    Given a VRAM manager
    And shard "s" of 100000 bytes is sealed
    When shard "s" is attested with a fresh nonce
    And the attested "measuredTreeRoot" is changed
    Then the attestation is rejected with reason "bad_signature"
    And the narration has an "attest" event

  Scenario: An attestation made for another nonce is refused as a replay
    Given a VRAM manager
    And shard "s" of 100000 bytes is sealed
    When shard "s" is attested with a fresh nonce
    And the attestation is presented for another nonce
    Then the attestation is rejected with reason "nonce_mismatch"
    And the narration has an "attest" event for shard "s"

  Scenario: An attestation checked with another key is refused
    Given a VRAM manager
    And shard "s" of 100000 bytes is sealed
    When shard "s" is attested with a fresh nonce
    And the attestation is checked with another public key
    Then the attestation is rejected with reason "bad_signature"
    And the narration has an "attest" event for shard "s"

  Scenario: Attesting a tampered shard fails verification first and stops the manager
    Given a VRAM manager
    And shard "s" of 100000 bytes is sealed
    When byte 10 of shard "s" is flipped in device memory
    And attesting shard "s" is attempted
    Then the verification fails with check "tree_root"
    And the manager is stopped
    And the narration has no "attest" event
    And the audit log has a "seal_verification_failed" event for shard "s"

  @gpu
  Scenario: On a GPU, sealed shards live in device memory and the manager is VRAM-only
    Given a VRAM manager with:
      | VRAM-only | yes |
    When shard "gpu-shard" of 8 MiB is sealed
    And the VRAM-only policy is enforced
    Then the operation succeeds
    And the manager says it is VRAM-only
    And the narration has a "seal" event for shard "gpu-shard"

  @gpu
  Scenario: On a GPU, an attestation reports device memory and verifies strictly
    Given a VRAM manager
    And shard "gpu-shard" of 8 MiB is sealed
    When shard "gpu-shard" is attested with a fresh nonce
    Then the attestation verifies
    And the attested memory type is "device"
    And the narration has an "attest" event for shard "gpu-shard"
