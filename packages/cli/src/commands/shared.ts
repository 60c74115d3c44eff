import { createRequire } from 'node:module';
import type { NarrationEvent } from '@vramseal/narration-core';
import type { Style } from '../terminal/style.js';
import type { Terminal } from '../terminal/terminal.js';

const pkg = createRequire(import.meta.url)('../../package.json') as {
  name: string;
  version: string;
};

export const VERSION = pkg.version;
/** What a manifest's `createdBy` says. */
export const TOOL = `${pkg.name} ${pkg.version}`;

const LEVEL_STYLE: Record<string, Style> = {
  debug: 'gray',
  info: 'green',
  warn: 'yellow',
  error: 'red',
  fatal: 'red',
};

/** One narration event as a line: level, actor and action, then the plain sentence. */
export function narrationLine(event: NarrationEvent, paint: Terminal['paint']): string {
  const level = paint(LEVEL_STYLE[event.level] ?? 'white', event.level.padEnd(5));
  return `${level} ${event.action.padEnd(16)} ${event.human}`;
}

/** --verbose: the manager's narration on stderr as it happens. */
export function narrationPrinter(term: Terminal): (event: NarrationEvent) => void {
  return (event) => term.error(`  ${narrationLine(event, term.paintErr)}`);
}
