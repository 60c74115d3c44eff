import { MAX_LINE_BYTES } from '../storage/layout.js';

/** Why a log failed verification; stable strings, safe to branch on. */
export type VerifyFailure =
  /** A line is not a well-formed, canonical record. */
  | 'malformed_record'
  /** Records are missing: the next seq is higher than expected (deleted lines). */
  | 'seq_gap'
  /** Two records trade places (the expected seq turns up right after a later one). */
  | 'seq_out_of_order'
  /** A seq that was already seen turns up again (a replayed line or segment). */
  | 'seq_replayed'
  /** `prevMac` does not equal the previous record's `mac` (an edit, insertion or splice). */
  | 'chain_broken'
  /** The record's MAC does not verify with the audit key (an edited or forged record). */
  | 'mac_mismatch'
  /** A record names a different service than the rest of the log. */
  | 'service_mismatch'
  /** The newest segment ends in a partial line (a crash mid-write not yet repaired by reopening). */
  | 'torn_tail'
  /** A checkpoint covers more records than the files hold: the end of the log was cut off. */
  | 'truncated'
  /** A segment file that must exist (numbering, manifest) is gone. */
  | 'segment_missing'
  /** A closed segment's bytes or seq range differ from its manifest entry. */
  | 'segment_mismatch'
  /** A closed (non-newest) segment has no manifest entry. */
  | 'segment_unlisted'
  /** A manifest line is malformed, out of order, or fails its MAC/chain. */
  | 'manifest_invalid'
  /** A checkpoint is malformed, unsigned/mis-signed, or goes backwards. */
  | 'checkpoint_invalid'
  /** The records do not produce the root (or last MAC) a checkpoint signed. */
  | 'checkpoint_mismatch';

/** The first problem found in a log: a value every check returns, never thrown. */
export interface CheckFailure {
  /** The first record that cannot be trusted; null when the problem is not tied to a record. */
  readonly seq: number | null;
  readonly reason: VerifyFailure;
  /** One readable sentence about the problem. */
  readonly detail: string;
  /** File where the problem was found. */
  readonly file: string | null;
}

export function failure(
  seq: number | null,
  reason: VerifyFailure,
  detail: string,
  file: string | null,
): CheckFailure {
  return { seq, reason, detail, file };
}

export function oversizedLine(
  seq: number | null,
  reason: VerifyFailure,
  file: string,
): CheckFailure {
  return failure(seq, reason, `${file} holds a line longer than ${MAX_LINE_BYTES} bytes`, file);
}

/**
 * A partial last line (a write cut short by a crash): where it starts, and how many bytes a repair
 * cuts with which SHA-256 (up to the last non-zero byte: preallocated zeros after it are not counted).
 */
export interface TornTail {
  /** The file's name in the log directory. */
  readonly file: string;
  readonly path: string;
  readonly offset: number;
  readonly length: number;
  readonly sha256: string;
}
