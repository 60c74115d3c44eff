Feature: Seal signatures hold up at the edges
  A seal is an HMAC-SHA256 signature, made with a key derived from the worker's token (or loaded
  from a key file), over every field of a shard the VRAM manager sealed. The manager keeps its
  signature to itself, so these scenarios sign the very same fields with seal-crypto and the very
  same key (its id must be the one the manager sealed with), and push keys, tokens, ids, digests
  and signatures to their limits. Nothing here may narrate a key, a token or a signature.

  Rule: The seal of a shard the manager sealed

    Background:
      Given a VRAM manager on a mock GPU with 64 MiB
      When shard "llama-3-8b-shard-1" of 300000 bytes is sealed as part 1 of 4 of model "llama-3-8b"
      And the seal fields of shard "llama-3-8b-shard-1" are signed with the worker's seal key

    Scenario: The worker's seal key signs exactly what the manager sealed
      Then the seal signature verifies
      And shard "llama-3-8b-shard-1" verifies
      And the narration names the seal key by its id only
      And the narration never shows a seal signature

    Scenario: The same fields and the same key always give the same signature
      When the seal fields are signed again with a key derived afresh from the worker token
      Then both signatures are identical
      And the seal signature verifies
      And the narration never shows a seal signature

    Scenario: Every single-bit flip of the signature is caught
      Then every single-bit flip of the signature is rejected
      And shard "llama-3-8b-shard-1" verifies
      And the narration has a "verify" event for shard "llama-3-8b-shard-1"
      And the narration never shows a seal signature

    Scenario Outline: A signature with bit <bit> flipped is rejected
      When bit <bit> of the signature is flipped
      Then the seal signature is rejected
      And the narration never shows a seal signature

      Examples:
        | bit |
        | 0   |
        | 7   |
        | 128 |
        | 255 |

    Scenario: A signature with every bit flipped is rejected
      When every bit of the signature is flipped
      Then the seal signature is rejected
      And the narration never shows a seal signature

    Scenario Outline: A signature of <length> bytes is rejected, never read past its end
      When the signature is resized to <length> bytes
      Then the seal signature is rejected
      And the narration never shows a seal signature

      Examples:
        | length |
        | 0      |
        | 31     |
        | 33     |
        | 64     |

    Scenario: A seal checked with another worker's key is rejected, by seal-crypto and by that worker's manager
      Given a second VRAM manager, of worker "worker-other" with the worker token "worker-other token: a different secret 9f3k"
      When the seal is checked with a key derived from the worker token "worker-other token: a different secret 9f3k"
      Then the seal signature is rejected
      When the second manager verifies shard "llama-3-8b-shard-1"
      Then the verification fails with check "signature"
      And the second manager is stopped
      And the manager is ready
      And the narration has a "verify_failed" event with:
        | worker_id     | worker-other       |
        | shard_id      | llama-3-8b-shard-1 |
        | context.check | signature          |
      And the narration has no "fault_injected" event

    Scenario: A seal checked with the worker's audit key is a configuration mistake, not a forgery
      Then checking the seal with the worker's audit key fails with code "KEY_PURPOSE_MISMATCH"
      And the narration names the seal key by its id only

    Scenario: Two keys give two signatures over the same payload
      Then keys derived from the worker token and from "another worker's token: 7c1e0b9a" sign the same seal payload differently
      And the narration never shows a seal signature

    Scenario: Two shards of the same bytes share their digests but not their signatures
      When shard "twin-a" of 65536 bytes is sealed
      And shard "twin-b" is sealed from the same bytes as shard "twin-a"
      Then shards "twin-a" and "twin-b" have the same digest and tree root
      And the seal fields of shards "twin-a" and "twin-b" have different signatures, and neither verifies the other
      And the narration has a "seal" event for shard "twin-b"

    Scenario: An empty shard id can be neither signed nor sealed
      When the seal fields are signed with the shard id ""
      Then signing and verifying are both refused with a RangeError naming "fields.shardId"
      When sealing 4096 bytes is attempted with the shard id ""
      Then the operation fails with code "INVALID_INPUT"
      And the error names the argument "options.shardId"
      And the VRAM in use is 300000 bytes
      And the narration has a "validate_failed" event with:
        | context.argument | options.shardId |

    Scenario Outline: A digest of <length> bytes can be neither signed nor verified
      When the seal fields are signed with a digest of <length> bytes
      Then signing and verifying are both refused with a RangeError naming "fields.digest"
      And the narration never shows a seal signature

      Examples:
        | length |
        | 0      |
        | 31     |
        | 33     |
        | 64     |

    Scenario: A tree root of the wrong length can be neither signed nor verified
      When the seal fields are signed with a tree root of 16 bytes
      Then signing and verifying are both refused with a RangeError naming "fields.treeRoot"
      And the narration never shows a seal signature

    Scenario: A shard presented with a shortened digest fails its signature check
      When the digest of shard "llama-3-8b-shard-1" is cut to 62 hex characters
      And shard "llama-3-8b-shard-1" is verified
      Then the verification fails with check "signature"
      And the manager is stopped
      And the narration has a "verify_failed" event at level "error"
      And the audit log has a "seal_verification_failed" event with:
        | shardId | llama-3-8b-shard-1 |
        | check   | signature          |

    Scenario: Unicode shard ids are signed byte for byte, so two spellings of one name differ
      When the seal fields are signed with the shard id "modèle-🦙-分片"
      Then the seal signature verifies
      And the shard ids "caf\u00e9" and "cafe\u0301" give different signatures
      And the narration never shows a seal signature

    Scenario: The manager refuses a unicode shard id, but seals a unicode model ref
      When sealing 4096 bytes is attempted with the shard id "modèle-🦙"
      Then the operation fails with code "INVALID_INPUT"
      And the error names the argument "options.shardId"
      When sealing 4096 bytes is attempted with the model ref "модель/llama-3 🦙 分片"
      Then the operation succeeds
      And shard "shard-with-model-ref" verifies
      When the seal fields of shard "shard-with-model-ref" are signed with the worker's seal key
      Then the seal signature verifies
      And the narration has a "validate_failed" event at level "warn"
      And the narration has a "seal" event with:
        | shard_id  | shard-with-model-ref  |
        | model_ref | модель/llama-3 🦙 分片 |

    Scenario: A shard id of the maximum 256 characters is sealed, signed and narrated in full
      When shard "longest" of 4096 bytes is sealed under an id of 256 characters
      And the seal fields of shard "longest" are signed with the worker's seal key
      Then shard "longest" has an id of 256 characters
      And the seal signature verifies
      And shard "longest" verifies
      And the "seal" event of shard "longest" carries its full id in a sentence of at most 100 characters
      And the "verify" event of shard "longest" carries its full id in a sentence of at most 100 characters

    Scenario: A shard id of 257 characters is refused before anything is allocated
      When sealing 4096 bytes is attempted with an id of 257 characters
      Then the operation fails with code "INVALID_INPUT"
      And the error names the argument "options.shardId"
      And the VRAM in use is 300000 bytes
      And the narration has a "validate_failed" event

  Rule: Worker tokens and key files

    Scenario Outline: A weak worker token (<why>) gets no key and no manager, and is never echoed
      When a seal key is derived from the worker token "<token>"
      Then key derivation fails with code "WEAK_SECRET"
      When a VRAM manager is created directly with the worker token "<token>"
      Then the operation fails with code "CONFIG_ERROR"
      And the error names the option "workerToken"
      And the error does not echo the worker token "<token>"
      And the narration has no "init" event

      Examples:
        | why                  | token                            |
        | 7 bytes              | pw-9f3k                          |
        | 15 bytes             | 0123456789abcde                  |
        | a repeated pattern   | tok3n-tok3n-tok3n-tok3n-tok3n-   |
        | four distinct bytes  | abcdabcddcbadcbaabcdabcddcbaaddc |

    Scenario: An empty worker token gets no key and no manager
      When a seal key is derived from the worker token ""
      Then key derivation fails with code "WEAK_SECRET"
      When a VRAM manager is created directly with the worker token ""
      Then the operation fails with code "CONFIG_ERROR"
      And the error names the option "workerToken"
      And the narration has no "init" event

    Scenario: A worker token of 1 MiB works like any other, and never shows
      Given a VRAM manager with a worker token of 1048576 random characters
      When shard "big-token" of 100000 bytes is sealed
      And the seal fields of shard "big-token" are signed with the worker's seal key
      Then the seal signature verifies
      And shard "big-token" verifies
      And the narration names the seal key by its id only
      And no output of the scenario holds a secret

    Scenario: A worker token in any script works like any other
      Given a VRAM manager with the worker token "ключ-воркера-🔑-密钥-7f3a9c"
      When shard "unicode-token" of 100000 bytes is sealed
      And the seal fields of shard "unicode-token" are signed with the worker's seal key
      Then the seal signature verifies
      And the narration names the seal key by its id only
      And no output of the scenario holds a secret

    Scenario Outline: A worker starts from a key file of <what>
      Given <key file>
      When the worker starts with the key file
      Then the worker runs with the key file's seal key
      When shard "from-key-file" of 100000 bytes is sealed
      Then shard "from-key-file" verifies
      And the narration names the seal key by its id only
      And the audit log has a "vram_sealed" event for shard "from-key-file"

      Examples:
        | what                       | key file                                                  |
        | 64 hex characters          | a key file holding 64 random hex characters               |
        | 64 hex characters and a LF | a key file holding 64 random hex characters and a newline |
        | 32 raw bytes               | a key file holding 32 random bytes                        |

    Scenario Outline: A worker does not start from a key file of <what>
      Given <key file>
      When the worker starts with the key file
      Then the worker does not start, failing with code "<code>"
      And the error does not show the key file's contents
      And nothing was narrated

      Examples:
        | what                  | key file                                    | code           |
        | 31 raw bytes          | a key file holding 31 random bytes          | KEY_FILE_FORMAT |
        | 33 raw bytes          | a key file holding 33 random bytes          | KEY_FILE_FORMAT |
        | 32 hex characters     | a key file holding 32 random hex characters | KEY_FILE_FORMAT |
        | 63 hex characters     | a key file holding 63 random hex characters | KEY_FILE_FORMAT |
        | 65 hex characters     | a key file holding 65 random hex characters | KEY_FILE_FORMAT |
        | 5000 bytes (too long) | a key file holding 5000 random bytes        | KEY_FILE_FORMAT |

    Scenario: A worker does not start from an empty key file
      Given a key file holding 0 random bytes
      When the worker starts with the key file
      Then the worker does not start, failing with code "KEY_FILE_FORMAT"
      And nothing was narrated

    Scenario: A worker does not start from a key file others can read
      Given a key file holding 64 random hex characters
      And the key file is readable by its group
      When the worker starts with the key file
      Then the worker does not start, failing with code "KEY_FILE_PERMISSIONS"
      And the error does not show the key file's contents
      And nothing was narrated

    Scenario: A worker does not start from a key file behind a symbolic link
      Given a key file holding 64 random hex characters
      And the key file is reached through a symbolic link
      When the worker starts with the key file
      Then the worker does not start, failing with code "KEY_FILE_SYMLINK"
      And the error does not show the key file's contents
      And nothing was narrated
