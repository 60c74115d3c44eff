import { readFileSync } from 'node:fs';
import type { NarrationEvent } from '@vramseal/narration-core';

/** A destination that keeps every written line in memory. */
export function memoryDestination() {
  const lines: string[] = [];
  return {
    lines,
    write(line: string) {
      lines.push(line);
    },
    /** Written lines parsed back; throws if any line is not exactly one JSON object. */
    events(): NarrationEvent[] {
      return lines.map((line) => {
        if (!line.endsWith('\n') || line.slice(0, -1).includes('\n')) {
          throw new Error(`not exactly one line: ${JSON.stringify(line)}`);
        }
        return JSON.parse(line) as NarrationEvent;
      });
    },
  };
}

/** A valid event, to spread and override. */
export const basicFields = {
  action: 'seal',
  target: 'shard-0',
  human: 'Sealed shard 0 of llama-3-8b on GPU0.',
} as const;

/**
 * What `emitted_by` must say for narration from these tests: the calling package's name@version,
 * read from its package.json so a release (changesets bumps the version) does not break the tests.
 */
export const THIS_PACKAGE = (() => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    name: string;
    version: string;
  };
  return `${pkg.name}@${pkg.version}`;
})();
