import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { assertString } from '../errors/arguments.js';
import { SealCryptoError } from '../errors/errors.js';
import { deriveKey } from './derive-key.js';
import type { KeyPurpose, SecretKey } from './secret-key.js';

const KEY_BYTES = 32;

/** Anything larger than 64 hex chars plus generous whitespace is not a key file. */
const MAX_FILE_BYTES = 4096;

/**
 * Reads a 32-byte key file: 64 hex characters (surrounding whitespace and newlines tolerated) or
 * exactly 32 raw bytes. The file must be a regular file (symlinks are refused) readable by its
 * owner only (mode 0600 or stricter). Without `purpose` it returns the 32 bytes of key material
 * for deriveKey(); with `purpose` it returns deriveKey(material, purpose) directly.
 */
export function loadKeyFile(path: string): Uint8Array;
export function loadKeyFile(path: string, purpose: KeyPurpose): SecretKey;
export function loadKeyFile(path: string, purpose?: KeyPurpose): Uint8Array | SecretKey {
  assertString(path, 'path');
  if (path.length === 0) throw new RangeError('path must be a non-empty file path');
  const material = readKeyMaterial(path);
  if (purpose === undefined) return material;
  try {
    return deriveKey(material, purpose);
  } finally {
    material.fill(0);
  }
}

function readKeyMaterial(path: string): Uint8Array {
  refuseSymlink(path);
  const fd = openKeyFile(path);
  try {
    // Check the opened file itself (fstat), not the path, so nothing can be swapped in between.
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      throw new SealCryptoError('KEY_FILE_FORMAT', `key file ${path} is not a regular file`);
    }
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      throw new SealCryptoError(
        'KEY_FILE_PERMISSIONS',
        `key file ${path} is readable by group or others (mode ${(stat.mode & 0o777).toString(8)}); ` +
          `run \`chmod 600 ${path}\``,
      );
    }
    return parseKeyFile(readAtMost(fd, MAX_FILE_BYTES + 1), path);
  } finally {
    closeSync(fd);
  }
}

/**
 * Symlinks are refused: a link's own mode says nothing about its target, and a link can be
 * re-pointed between the check and the read. Point the config at the real file instead.
 */
function refuseSymlink(path: string): void {
  let isLink: boolean;
  try {
    isLink = lstatSync(path).isSymbolicLink();
  } catch (cause) {
    throw unreadable(path, cause);
  }
  if (isLink) {
    throw new SealCryptoError(
      'KEY_FILE_SYMLINK',
      `key file ${path} is a symbolic link; point the configuration at the real file (mode 0600)`,
    );
  }
}

function openKeyFile(path: string): number {
  try {
    return openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (cause) {
    throw unreadable(path, cause);
  }
}

function unreadable(path: string, cause: unknown): SealCryptoError {
  const code = (cause as { code?: string }).code ?? 'unknown error';
  return new SealCryptoError(
    'KEY_FILE_UNREADABLE',
    `cannot read key file ${path} (${code}); check the path and that this user owns the file`,
    { cause },
  );
}

function readAtMost(fd: number, limit: number): Uint8Array {
  const buffer = new Uint8Array(limit);
  let length = 0;
  while (length < limit) {
    const n = readSync(fd, buffer, length, limit - length, null);
    if (n === 0) break;
    length += n;
  }
  return buffer.subarray(0, length);
}

const HEX_KEY = new RegExp(`^[0-9a-fA-F]{${KEY_BYTES * 2}}$`);
const ALL_HEX_DIGITS = /^[0-9a-fA-F]*$/;

/** 32 raw bytes, or 64 hex chars with optional whitespace around them. Never echoes content. */
function parseKeyFile(content: Uint8Array, path: string): Uint8Array {
  const text = Buffer.from(content.buffer, content.byteOffset, content.length).toString('latin1');
  if (content.length === KEY_BYTES) {
    if (ALL_HEX_DIGITS.test(text)) {
      // 32 hex characters are 16 bytes of key, not 32: refuse rather than guess.
      throw formatError(path, 'it holds 32 hex characters (16 bytes)');
    }
    return new Uint8Array(content);
  }
  const trimmed = text.trim();
  if (HEX_KEY.test(trimmed)) return new Uint8Array(Buffer.from(trimmed, 'hex'));
  throw formatError(path, `it is ${content.length} bytes and not 64 hex characters`);
}

function formatError(path: string, what: string): SealCryptoError {
  return new SealCryptoError(
    'KEY_FILE_FORMAT',
    `key file ${path} is not a 32-byte key: ${what}; write 64 hex characters ` +
      `(e.g. \`openssl rand -hex 32 > ${path}\`) or exactly 32 raw bytes`,
  );
}
