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
 * one plain line otherwise, nothing with --json. Shown from the first landed chunk on: the manager
 * checks every argument before it reads a byte, so a refused seal never claims to have begun.
 */
export function startProgress(term: Terminal, label: string, totalBytes: number): Progress {
  if (term.json) return { update() {}, stop() {} };
  if (!term.stderrIsTTY || totalBytes < BAR_MIN_BYTES) {
    let said = false;
    return {
      update() {
        if (!said) term.note(`sealing ${label} (${formatBytes(totalBytes)})`);
        said = true;
      },
      stop() {},
    };
  }
  let bar: cliProgress.SingleBar | undefined;
  const size = formatBytes(totalBytes);
  return {
    update(bytesDone) {
      if (bar === undefined) {
        bar = new cliProgress.SingleBar(
          {
            stream: term.io.stderr,
            format: `sealing ${label} [{bar}] {percentage}% {done} of {size}`,
            hideCursor: true,
            clearOnComplete: false,
            barsize: 30,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(totalBytes, 0, { done: formatBytes(0), size });
      }
      bar.update(bytesDone, { done: formatBytes(bytesDone), size });
    },
    stop() {
      bar?.stop();
    },
  };
}
