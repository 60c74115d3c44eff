import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { NarrationError } from '../errors/narration-error.js';

/** Fields shown in an event's first line, or not at all (they change from run to run). */
const HEADLINE = new Set(['level', 'actor', 'action', 'target', 'human']);
const UNSTABLE = new Set(['emitted_at_ms', 'pid', 'hostname']);
/** Measured or clock-derived numbers: written as <ms>. Configured ones (backoff_ms) are kept. */
const MEASURED_MS = new Set(['duration_ms', 'decode_time_ms', 'predicted_start_ms']);

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const TRACE_ID = /\b[0-9a-f]{32}\b/g;
const SPAN_ID = /\b[0-9a-f]{16}\b/g;
const ISO_TIME = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})\b/g;
const MILLISECONDS = /\b\d+(?:\.\d+)? ?ms\b/g;
const VERSION_SUFFIX = /@\d+\.\d+\.\d+[0-9A-Za-z.+-]*$/;

/**
 * Renders events as stable text for golden files: one line per event
 * (`level actor action target: human`), then its other fields sorted by name, indented.
 * Unstable values are normalised: UUIDs become <id-1>, <id-2>... and trace/span ids <trace-1>,
 * <span-1>... in order of first appearance (so "same id" and "different id" still show),
 * timestamps <time>, measured durations <ms>, package versions @<version>; pid, hostname and
 * emitted_at_ms are left out.
 */
export function storySnapshot(events: readonly object[]): string {
  if (!Array.isArray(events)) {
    throw new NarrationError(
      'INVALID_ARGUMENT',
      'storySnapshot(): `events` must be an array of events, e.g. capture.events.',
      { argument: 'events' },
    );
  }
  const normaliser = new Normaliser();
  return events
    .map((event) => renderEvent(event as Record<string, unknown>, normaliser))
    .join('\n');
}

/**
 * Compares `storySnapshot(events)` with the golden file at `file`. With UPDATE_GOLDENS=1 in
 * the environment it (re)writes the file instead. Throws NarrationError GOLDEN_MISMATCH naming
 * the first differing line, or when the file does not exist yet.
 */
export function matchStoryGolden(events: readonly object[], file: string): void {
  const actual = `${storySnapshot(events)}\n`;
  if (process.env.UPDATE_GOLDENS === '1') {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  let expected: string;
  try {
    expected = readFileSync(file, 'utf8');
  } catch {
    throw new NarrationError(
      'GOLDEN_MISMATCH',
      `matchStoryGolden(): golden file ${file} does not exist. Run the test once with ` +
        'UPDATE_GOLDENS=1 to write it, review it, and commit it.',
      { argument: 'file' },
    );
  }
  if (expected === actual) return;
  const expectedLines = expected.split('\n');
  const actualLines = actual.split('\n');
  let line = 0;
  while (expectedLines[line] === actualLines[line]) line++;
  throw new NarrationError(
    'GOLDEN_MISMATCH',
    `matchStoryGolden(): story differs from ${file} at line ${line + 1}:\n` +
      `  expected: ${expectedLines[line] ?? '<end of file>'}\n` +
      `  actual:   ${actualLines[line] ?? '<end of story>'}\n` +
      'If the change is intended, re-run with UPDATE_GOLDENS=1 and review the diff.',
    { argument: 'events' },
  );
}

function renderEvent(event: Record<string, unknown>, normaliser: Normaliser): string {
  const text = (key: string) => normaliser.text(String(event[key] ?? ''));
  const headline = `${text('level')} ${text('actor')} ${text('action')} ${text('target')}: ${text('human')}`;
  const details = Object.keys(event)
    .filter((key) => !HEADLINE.has(key) && !UNSTABLE.has(key))
    .sort()
    .map((key) => `    ${key}=${normaliser.value(key, event[key])}`);
  return [headline, ...details].join('\n');
}

/** Replaces run-specific values with numbered placeholders, consistently within one story. */
class Normaliser {
  readonly #names = new Map<string, string>();
  readonly #counts = new Map<string, number>();

  value(key: string, value: unknown): string {
    if (MEASURED_MS.has(key) && typeof value === 'number') return '<ms>';
    if (key === 'emitted_by' && typeof value === 'string') {
      return value.replace(VERSION_SUFFIX, '@<version>');
    }
    if (typeof value === 'string') return this.text(value);
    return this.text(JSON.stringify(sortKeys(value)));
  }

  text(value: string): string {
    return value
      .replace(UUID, (id) => this.#placeholder('id', id.toLowerCase()))
      .replace(TRACE_ID, (id) => this.#placeholder('trace', id))
      .replace(SPAN_ID, (id) => this.#placeholder('span', id))
      .replace(ISO_TIME, '<time>')
      .replace(MILLISECONDS, '<ms>');
  }

  #placeholder(kind: string, id: string): string {
    const key = `${kind}:${id}`;
    let name = this.#names.get(key);
    if (name === undefined) {
      const count = (this.#counts.get(kind) ?? 0) + 1;
      this.#counts.set(kind, count);
      name = `<${kind}-${count}>`;
      this.#names.set(key, name);
    }
    return name;
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  );
}
