/**
 * Files in a log directory (mode 0700, each file 0600):
 * - `segment-000001.ndjson`, `segment-000002.ndjson`, ...: the records, one canonical JSON per line
 * - `manifest.ndjson`: one HMAC-chained line per closed segment (its seq range and SHA-256)
 * - `checkpoints.ndjson`: signed tree heads, one per line
 * - `writer.lock`: pid of the process that has the log open for writing
 */
export const MANIFEST_FILE = 'manifest.ndjson';
export const CHECKPOINT_FILE = 'checkpoints.ndjson';
export const LOCK_FILE = 'writer.lock';

/**
 * No line the logger writes comes near this (a record is at most a few KiB: every string field is
 * capped at 1024 bytes). Readers refuse longer lines instead of buffering a file with no newline
 * into memory.
 */
export const MAX_LINE_BYTES = 1 << 20;

const SEGMENT_NAME = /^segment-(\d{6,})\.ndjson$/;

export function segmentName(index: number): string {
  return `segment-${String(index).padStart(6, '0')}.ndjson`;
}

/** The index of a segment file, only for the one name the logger gives it (no extra zeros). */
export function segmentIndex(name: string): number | undefined {
  const m = SEGMENT_NAME.exec(name);
  if (!m) return undefined;
  const index = Number(m[1]);
  return segmentName(index) === name ? index : undefined;
}

/** Segment files in `names`, sorted by index. */
export function listSegments(names: readonly string[]): { name: string; index: number }[] {
  const out: { name: string; index: number }[] = [];
  for (const name of names) {
    const index = segmentIndex(name);
    if (index !== undefined) out.push({ name, index });
  }
  return out.sort((a, b) => a.index - b.index);
}
