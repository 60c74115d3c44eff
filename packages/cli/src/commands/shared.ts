import { createRequire } from 'node:module';
import path from 'node:path';
import type { NarrationEvent } from '@vramseal/narration-core';
import { CliError } from '../errors.js';
import { loadSigningKey } from '../key/signing-key.js';
import type { WorkerKeys } from '../key/worker-key.js';
import { type BackendChoice, Session, type SessionOptions } from '../session/session.js';
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

/** --audit-dir and --signing-key of seal and verify, checked and loaded. */
export function auditSettings(options: {
  auditDir?: string;
  signingKey?: string;
}): Pick<SessionOptions, 'auditDir' | 'signingKey'> {
  if (options.signingKey !== undefined && options.auditDir === undefined) {
    throw new CliError(
      'USAGE',
      '--signing-key signs the checkpoints of an audit log, and none was asked for; give --audit-dir <dir> too',
    );
  }
  return {
    ...(options.auditDir === undefined ? {} : { auditDir: options.auditDir }),
    ...(options.signingKey === undefined ? {} : { signingKey: loadSigningKey(options.signingKey) }),
  };
}

/** The audit part of seal's and verify's --json document (nothing without --audit-dir). */
export function auditDocument(settings: Pick<SessionOptions, 'auditDir' | 'signingKey'>): {
  auditDir?: string;
  auditSigningKey?: string | null;
} {
  if (settings.auditDir === undefined) return {};
  return {
    auditDir: path.resolve(settings.auditDir),
    auditSigningKey: settings.signingKey?.id ?? null,
  };
}

/** The `audit` line of seal and verify: where the log is, and whether its checkpoints are signed. */
export function auditLine(
  settings: Pick<SessionOptions, 'auditDir' | 'signingKey'>,
): string | undefined {
  if (settings.auditDir === undefined) return undefined;
  return settings.signingKey === undefined
    ? `audit    ${settings.auditDir} (checkpoints not signed: no --signing-key)`
    : `audit    ${settings.auditDir} (checkpoints signed by key ${settings.signingKey.id})`;
}

/**
 * The session `seal` and `verify` open: backend, keys, worker and device from their flags, the
 * audit log of `auditSettings`, and with --verbose the manager's narration on stderr.
 */
export function openCommandSession(
  options: { backend: BackendChoice; workerId: string; device?: number | 'auto' },
  keys: WorkerKeys,
  audit: Pick<SessionOptions, 'auditDir' | 'signingKey'>,
  term: Terminal,
): Promise<Session> {
  return Session.open({
    backend: options.backend,
    keys,
    workerId: options.workerId,
    device: options.device,
    ...audit,
    ...(term.verbose ? { onNarration: narrationPrinter(term), narrationLevel: 'debug' } : {}),
  });
}
