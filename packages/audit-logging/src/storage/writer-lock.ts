import fs from 'node:fs';
import path from 'node:path';
import { AuditConfigError } from '../errors.js';
import { LOCK_FILE } from './layout.js';

/** Real paths of the log directories this process has open for writing. */
const heldDirs = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockHolder(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One writer per log directory: `writer.lock` is created exclusively (O_EXCL) and holds the
 * writer's pid. A lock whose process is gone (a crash, SIGKILL) is taken over. Returns the
 * directory's real path, under which this process holds it.
 */
export function acquireWriterLock(dir: string): string {
  const real = fs.realpathSync(dir);
  if (heldDirs.has(real)) {
    throw new AuditConfigError(
      'dir',
      `${dir} is already open for writing in this process; share that AuditLogger`,
    );
  }
  const file = path.join(dir, LOCK_FILE);
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = lockHolder(file);
      if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
        throw new AuditConfigError(
          'dir',
          `${dir} is open for writing by process ${holder}; only one writer may append to a log. ` +
            `Stop that process first; if ${holder} is not an audit writer (its pid was reused after a crash), delete ${file}`,
        );
      }
      fs.unlinkSync(file); // left by a writer that no longer exists
      continue;
    }
    try {
      fs.writeSync(fd, String(process.pid));
    } finally {
      fs.closeSync(fd);
    }
    heldDirs.add(real);
    return real;
  }
  throw new AuditConfigError('dir', `another process took ${file} at the same time; retry`);
}

export function releaseWriterLock(dir: string, real: string): void {
  try {
    fs.unlinkSync(path.join(dir, LOCK_FILE));
  } catch {
    // Already gone: nothing to release.
  }
  heldDirs.delete(real);
}
