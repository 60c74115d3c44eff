import { AsyncLocalStorage } from 'node:async_hooks';

/** One active `captureNarration` call; nested captures chain to their parent. */
export interface CaptureScope {
  readonly events: object[];
  readonly parent: CaptureScope | undefined;
  /** Cleared when the capture returns: a timer that outlives it cannot add to its events. */
  open: boolean;
}

// Capture is scoped by AsyncLocalStorage, not by a global list: an event belongs to the capture
// whose callback (or anything it awaited or scheduled) emitted it, so tests running concurrently
// in one process never see each other's events.
export const captureScope = new AsyncLocalStorage<CaptureScope>();

/**
 * Called with each line a narrator writes. Costs one store lookup when nothing is capturing;
 * parses the line only inside a capture, so captured events are exactly what was written
 * (after sanitising, redaction and the `redact` paths).
 */
export function recordWrittenLine(line: string): void {
  let scope = captureScope.getStore();
  if (scope === undefined) return;
  const event = deepFreeze(JSON.parse(line) as object);
  for (; scope !== undefined; scope = scope.parent) {
    if (scope.open) scope.events.push(event);
  }
}

/**
 * recordWrittenLine for an event written through an application's logger, whose stream capture
 * cannot see: `build` makes the event (a JSON round trip then gives it the written form), and runs
 * only inside a capture.
 */
export function recordWrittenEvent(build: () => object): void {
  if (captureScope.getStore() === undefined) return;
  recordWrittenLine(JSON.stringify(build()));
}

/** Captured events are shared by nested captures, so none of them may change one. */
function deepFreeze<T extends object>(value: T): T {
  for (const item of Object.values(value)) {
    if (typeof item === 'object' && item !== null) deepFreeze(item);
  }
  return Object.freeze(value);
}
