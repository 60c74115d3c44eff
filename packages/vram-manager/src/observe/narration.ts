import type { NarrationFields, NarrationLevel, Narrator } from '@vramseal/narration-core';
import { HUMAN_MAX_CHARS } from '@vramseal/narration-core';
import { VramError } from '../errors.js';

/** The narration actor of everything the manager says. */
export const NARRATION_ACTOR = 'vram-residency';

/** The actions the manager narrates (the `action` field), one per step an operator cares about. */
export type NarrationAction =
  | 'init'
  | 'init_failed'
  | 'cuda_init'
  | 'seal'
  | 'verify'
  | 'verify_failed'
  | 'allocate'
  | 'allocate_failed'
  | 'deallocate'
  | 'policy_violation'
  | 'digest'
  | 'sign'
  | 'validate_failed'
  | 'capacity_query'
  | 'reset'
  | 'attest'
  | 'fault_injected'
  | 'observability_degraded'
  | 'close';

export interface ManagerEvent {
  action: NarrationAction;
  /** What it was done to: a shard id, `GPU0`, `manager`. */
  target: string;
  /** One plain sentence; cut to the narration limit if it is longer. */
  human: string;
  shardId?: string | undefined;
  device?: number | undefined;
  durationMs?: number | undefined;
  modelRef?: string | undefined;
  errorKind?: string | undefined;
  context?: Record<string, unknown> | undefined;
}

/**
 * Narration that serves the operation and never breaks it: a failing narrator (a destination that
 * throws, an event it refuses) is counted and reported through `onFailure`, never thrown into a
 * seal or a verify. Sentences are kept within the narration limit, and long ids are shortened in
 * them (the full id is in `shard_id`), so a 256-character shard id is still a valid event.
 */
export class ManagerNarration {
  readonly #narrator: Narrator | undefined;
  readonly #onFailure: (error: unknown) => void;

  constructor(narrator: Narrator | undefined, onFailure: (error: unknown) => void) {
    this.#narrator = narrator;
    this.#onFailure = onFailure;
  }

  isLevelEnabled(level: NarrationLevel): boolean {
    try {
      return this.#narrator?.isLevelEnabled(level) ?? false;
    } catch {
      return false;
    }
  }

  emit(level: NarrationLevel, event: ManagerEvent): void {
    const narrator = this.#narrator;
    if (narrator === undefined) return;
    try {
      if (!narrator.isLevelEnabled(level)) return;
      const fields: NarrationFields = {
        action: event.action,
        target: event.target,
        human: fitSentence(event.human),
      };
      if (event.shardId !== undefined) fields.shard_id = event.shardId;
      if (event.device !== undefined) fields.device = event.device;
      if (event.durationMs !== undefined) fields.duration_ms = roundMs(event.durationMs);
      if (event.modelRef !== undefined && event.modelRef !== '') fields.model_ref = event.modelRef;
      if (event.errorKind !== undefined) fields.error_kind = event.errorKind;
      if (event.context !== undefined) fields.context = event.context;
      narrator[level](fields);
    } catch (error) {
      this.#onFailure(error);
    }
  }
}

/** Shortens an id for a sentence: the start and the end, which is what people compare. */
export function shortId(id: string, max = 28): string {
  const chars = [...id];
  if (chars.length <= max) return id;
  const head = Math.ceil((max - 1) / 2);
  const tail = max - 1 - head;
  return `${chars.slice(0, head).join('')}…${chars.slice(chars.length - tail).join('')}`;
}

/** A sentence within HUMAN_MAX_CHARS code points (cut with an ellipsis when it is longer). */
export function fitSentence(text: string): string {
  const chars = [...text];
  if (chars.length <= HUMAN_MAX_CHARS) return text;
  return `${chars.slice(0, HUMAN_MAX_CHARS - 1).join('')}…`;
}

/** "1.5 GiB", "64 MiB", "512 KiB", "100 bytes": sizes as an operator reads them. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${bytes} bytes`;
  const digits = value >= 100 || Number.isInteger(value) ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * A manager that could not start has no narration of its own yet; an operator still needs to
 * read why in the narration. If the options held a usable narrator, the refusal is narrated once
 * (`init_failed`, error) with the code and the option at fault: the error's message says what was
 * wrong, never a secret (a weak token is described, not repeated). Nothing here can throw.
 */
export function narrateStartFailure(options: unknown, error: unknown): void {
  try {
    const narrator = (options as { narrator?: Narrator } | null)?.narrator;
    if (typeof narrator?.child !== 'function' || !(error instanceof VramError)) return;
    const option = error.option ?? error.argument;
    narrator.child({ actor: NARRATION_ACTOR }).error({
      action: 'init_failed',
      target: 'manager',
      human: fitSentence(
        `VRAM manager could not start: ${error.code}${option ? ` (option ${option})` : ''}.`,
      ),
      error_kind: error.code,
      context: { code: error.code, option: option ?? null, detail: error.message },
    });
  } catch {
    // Narration never changes the outcome: the caller gets the error either way.
  }
}
