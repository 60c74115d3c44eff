Feature: The VRAM manager tells the story of what it does
  Every operation is narrated: a plain sentence for people, structured fields for machines, the
  caller's correlation id so one request can be followed through seal, verify and the audit log,
  and never a secret: not the worker's token or keys, and not a credential someone put into a
  model reference. The story of a run is stable enough to keep as a snapshot.

  Background:
    Given a VRAM manager on a mock GPU with 64 MiB

  Scenario: The story of a seal, a verify and a tampered shard matches its snapshot
    When shard "story-shard" of 300000 deterministic bytes from seed "vramseal narration story" is sealed
    And shard "story-shard" is verified
    And byte 123456 of shard "story-shard" is flipped in device memory
    And shard "story-shard" is verified
    Then the verification fails with check "tree_root"
    And shard "story-shard" has the digest "d5522eadb1a50bc43fbb198a6b7b34f2b583d2e57ac69417344f069453e3b40f"
    And the narration story matches the snapshot "seal_verify_tamper"

  Scenario: A tampered shard is narrated at the levels an operator filters on
    When shard "levels" of 300000 bytes is sealed
    And byte 42 of shard "levels" is flipped in device memory
    And shard "levels" is verified
    Then the narration has a "digest" event at level "debug"
    And the narration has a "seal" event at level "info"
    And the narration has a "fault_injected" event at level "warn"
    And the narration has a "verify_failed" event at level "error"
    And the narration says at level "warn": "Fault injected: flipped bits at byte 42 of shard levels."
    And the narration says at level "error": "Shard levels failed its tree_root check: the manager stopped serving."
    And the failed verification of shard "levels" is narrated with the sealed and the measured tree roots
    And the audit log has a "seal_verification_failed" event with:
      | shardId | levels    |
      | check   | tree_root |

  Scenario: The correlation id flows through seal, verify and the audit log
    When shard "traced" of 300000 bytes is sealed
    And shard "traced" is verified
    And shard "traced" is deallocated
    Then every narration event carries the scenario's correlation id
    And the "seal" event of shard "traced" carries "the scenario's" correlation id
    And the "verify" event of shard "traced" carries "the scenario's" correlation id
    And every audit event of shard "traced" carries the scenario's correlation id
    And the audit log has a "seal_verified" event for shard "traced"

  Scenario: Each call carries its own caller's correlation id
    When shard "two-callers" of 300000 bytes is sealed
    And shard "two-callers" is verified under a correlation id of its own
    Then the verification passes
    And the "seal" event of shard "two-callers" carries "the scenario's" correlation id
    And the "verify" event of shard "two-callers" carries "its own" correlation id
    And the "vram_sealed" audit event of shard "two-callers" carries "the scenario's" correlation id
    And the "seal_verified" audit event of shard "two-callers" carries "its own" correlation id

  Scenario: A failed verification is traced to the request that found it
    When shard "traced-failure" of 300000 bytes is sealed
    And byte 0 of shard "traced-failure" is flipped in device memory
    And shard "traced-failure" is verified under a correlation id of its own
    Then the verification fails with check "tree_root"
    And the "verify_failed" event of shard "traced-failure" carries "its own" correlation id
    And the "seal_verification_failed" audit event of shard "traced-failure" carries "its own" correlation id

  Scenario: The worker token and the keys never show, through success and failure alike
    When shard "quiet" of 300000 bytes is sealed
    And shard "quiet" is verified
    And the seal field "digest" of shard "quiet" is changed
    And shard "quiet" is verified
    Then the verification fails with check "signature"
    And the narration contains no secret
    And no output of the scenario holds a secret
    And the narration names the seal key by its id only

  Scenario Outline: A credential in a model reference is refused before it reaches the seal (<kind>)
    The seal is signed over the model ref and every audit record keeps it as given: a credential
    there could never be redacted afterwards, so it is refused and never repeated.
    When sealing 4096 bytes is attempted with the model ref "<model ref>"
    Then the operation fails with code "INVALID_INPUT"
    And the error message includes "looks like it holds a credential"
    And the narration has a "validate_failed" event
    And the narration never shows "<secret>"
    And no output of the scenario holds a secret

    Examples:
      | kind            | model ref                                                                      | secret                                  |
      | URL password    | https://alice:s3cr3t-pass-9@models.example/llama-3                             | s3cr3t-pass-9                           |
      | token parameter | hf.co/meta/llama-3?token=hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789               | hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789 |
      | API key         | registry api_key=sk-live-0123456789abcdef                                      | sk-live-0123456789abcdef                |
      | bearer token    | Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl | eyJhbGciOiJIUzI1NiJ9                    |

  Scenario: A shard id shaped like a provider token is refused, not half-shown
    When sealing 4096 bytes is attempted with the shard id "ghp_a1B2c3D4e5F6g7H8i9J0a1B2c3D4e5F6g7H8"
    Then the operation fails with code "INVALID_INPUT"
    And the error names the argument "options.shardId"
    And the narration never shows "a1B2c3D4e5F6g7H8i9J0"
    And the narration has a "validate_failed" event

  Scenario: Every sentence fits in 100 characters, even for the longest shard id
    When shard "longest-id" of 4096 bytes is sealed under an id of 256 characters
    And shard "longest-id" is verified
    And shard "longest-id" is deallocated
    Then every narration sentence is at most 100 characters
    And the "seal" event of shard "longest-id" carries its full id in a sentence of at most 100 characters
    And the "deallocate" event of shard "longest-id" carries its full id in a sentence of at most 100 characters

  Scenario: Refused input is narrated without repeating the hostile bytes
    When sealing 4096 bytes is attempted with the shard id "evil\nINFO vram-residency seal ok"
    Then the operation fails with code "INVALID_INPUT"
    And the narration has a "validate_failed" event at level "warn"
    And the narration never shows "\nINFO vram-residency"
    And every narration sentence is at most 100 characters

  Scenario: The mock backend says plainly that it is not a GPU
    Then the narration has a "cuda_init" event at level "warn"
    And the narration includes "No GPU in use"
    And the narration has an "init" event with:
      | context.backend  | mock  |
      | context.devices  | 1     |
      | context.vram_only | false |
