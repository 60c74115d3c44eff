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

/** The writer cuts a segment's preallocated zeros off before it lists it in the manifest. */
export function zerosInClosedSegment(
  seq: number,
  file: string,
  offset: number,
  length: number,
): CheckFailure {
  return failure(
    seq,
    'malformed_record',
    `${file} is closed but holds ${length} zero bytes after its last record (from byte ${offset}); only the segment being written may`,
    file,
  );
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

/** Records are missing: the next seq found is higher than the one expected. */
export function seqGap(jump: { expected: number; found: number; file: string }): CheckFailure {
  const range =
    jump.found - 1 === jump.expected
      ? `record ${jump.expected} is`
      : `records ${jump.expected}..${jump.found - 1} are`;
  return failure(
    jump.expected,
    'seq_gap',
    `${range} missing (the next record is ${jump.found})`,
    jump.file,
  );
}

/** Where a segment's records end short of what was written: a last line or bytes after a NUL. */
export interface TornSegment {
  readonly isLast: boolean;
  /** Listed in the manifest, or not the newest segment. */
  readonly closed: boolean;
  /** The verifier reports a torn tail; the writer's recovery repairs it instead. */
  readonly report: boolean;
  /** Where a NUL cuts the last line short, if one does. */
  readonly nulInLine: number | undefined;
}

/**
 * We always write whole lines and never a NUL: a last line without its newline, or bytes after
 * the first NUL, are a write cut short. Only the newest, unclosed segment may end in one.
 */
export function tornSegment(seq: number, file: string, torn: TornSegment): CheckFailure {
  if (!torn.isLast) {
    return failure(
      seq,
      'malformed_record',
      `${file} is not the newest segment but ends in a partial line (or holds a NUL byte)`,
      file,
    );
  }
  const detail = torn.closed
    ? `${file} is closed (listed in the manifest) but ends in a partial line (or holds a NUL byte)`
    : `${file} ends in a partial line${torn.nulInLine === undefined ? '' : ` cut short by a NUL byte at byte ${torn.nulInLine}`} (a crash mid-write, or a write in flight if the log is open: re-run); opening the log with AuditLogger.open repairs it and records the repair`;
  return failure(seq, torn.report ? 'torn_tail' : 'malformed_record', detail, file);
}
