import fs from 'node:fs';

const { O_APPEND, O_CREAT, O_WRONLY, O_RDONLY, O_NOFOLLOW, O_DIRECTORY } = fs.constants;

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/** Raised for layout problems (symlinks, wrong file types); callers wrap it in their typed error. */
export class UnsafePathError extends Error {}

/**
 * Creates `dir` (mode 0700) or checks an existing one: a symlink is refused outright (someone could
 * point the log at a file they control), anything but a directory is refused, and looser
 * permissions are tightened to 0700 (audit logs are not world-readable).
 */
export function ensureSecureDir(dir: string): void {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.lstatSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (stat === undefined) {
    fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    stat = fs.lstatSync(dir);
  }
  if (stat.isSymbolicLink())
    throw new UnsafePathError(`${dir} is a symbolic link; give the real directory`);
  if (!stat.isDirectory()) throw new UnsafePathError(`${dir} exists and is not a directory`);
  if ((stat.mode & 0o777) !== DIR_MODE) fs.chmodSync(dir, DIR_MODE);
}

function checkRegularFile(fd: number, file: string): void {
  const stat = fs.fstatSync(fd);
  if (!stat.isFile()) {
    fs.closeSync(fd);
    throw new UnsafePathError(`${file} is not a regular file`);
  }
  if ((stat.mode & 0o777) !== FILE_MODE) fs.fchmodSync(fd, FILE_MODE);
}

/**
 * Opens a file for appending only (O_APPEND: every write lands at the end, whatever anyone else
 * did to the offset), never through a symlink (O_NOFOLLOW fails with ELOOP), mode 0600.
 */
export function openAppendOnly(file: string): number {
  const fd = fs.openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, FILE_MODE);
  checkRegularFile(fd, file);
  return fd;
}

/**
 * Opens a file for positioned writes (pwrite(2) at offsets the caller keeps), never through a
 * symlink, mode 0600. Not O_APPEND: a segment's writer overwrites the zeros it preallocated ahead
 * of its records, which append mode would write after.
 */
export function openForPositionedWrites(file: string): number {
  const fd = fs.openSync(file, O_WRONLY | O_CREAT | O_NOFOLLOW, FILE_MODE);
  checkRegularFile(fd, file);
  return fd;
}

/** A new file's name is durable only once its directory is fsynced (POSIX fsync(2) notes). */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, O_RDONLY | O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** write(2) may write less than asked (e.g. the disk filled up mid-way): loop until done. */
export function writeFully(fd: number, data: Buffer): void {
  let offset = 0;
  while (offset < data.length) offset += fs.writeSync(fd, data, offset, data.length - offset);
}

/** pwrite(2) of all of `data` at `position` of the file, looping over short writes. */
export function writeFullyAt(fd: number, data: Uint8Array, position: number): void {
  let done = 0;
  while (done < data.length) {
    done += fs.writeSync(fd, data, done, data.length - done, position + done);
  }
}
