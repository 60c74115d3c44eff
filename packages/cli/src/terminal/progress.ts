import cliProgress from 'cli-progress';
import { formatBytes } from './format.js';
import type { Terminal } from './terminal.js';

/** Below this a seal takes a few milliseconds: a bar would only flicker. */
const BAR_MIN_BYTES = 8 * 1024 * 1024;

export interface Progress {
  update(bytesDone: number): void;
  stop(): void;
}

/**
 * Progress of one upload: a bar on stderr when a person watches (a TTY) and the file is large,
 * one plain line otherwise, nothing with --json.
 */
export function startProgress(term: Terminal, label: string, totalBytes: number): Progress {
  if (term.json) return { update() {}, stop() {} };
  if (!term.stderrIsTTY || totalBytes < BAR_MIN_BYTES) {
    term.note(`sealing ${label} (${formatBytes(totalBytes)})`);
    return { update() {}, stop() {} };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: term.io.stderr,
      format: `sealing ${label} [{bar}] {percentage}% {done} of {size}`,
      hideCursor: true,
      clearOnComplete: false,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  const size = formatBytes(totalBytes);
  bar.start(totalBytes, 0, { done: formatBytes(0), size });
  return {
    update(bytesDone) {
      bar.update(bytesDone, { done: formatBytes(bytesDone), size });
    },
    stop() {
      bar.stop();
    },
  };
}
