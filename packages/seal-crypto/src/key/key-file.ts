import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { assertString } from '../errors/arguments.js';
import { outOfRange, SealCryptoError } from '../errors/errors.js';
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
  if (path.length === 0) throw outOfRange('path', 'path must be a non-empty file path');
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
  // The file's bytes are key material: read into memory of our own (never Node's shared Buffer
  // pool, where any later small Buffer could read them back) and zeroed once parsed.
  const content = new Uint8Array(MAX_FILE_BYTES + 1);
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
    return parseKeyFile(content.subarray(0, readInto(fd, content)), path);
  } finally {
    content.fill(0);
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

/** Reads until `buffer` is full or the file ends; returns the bytes read. */
function readInto(fd: number, buffer: Uint8Array): number {
  let length = 0;
  while (length < buffer.length) {
    const n = readSync(fd, buffer, length, buffer.length - length, null);
    if (n === 0) break;
    length += n;
  }
  return length;
}

/**
 * 32 raw bytes, or 64 hex chars with optional whitespace around them. Never echoes content, and
 * never turns it into a string or a pooled Buffer: the key is decoded byte by byte into a fresh
 * Uint8Array, the only copy the caller gets.
 */
function parseKeyFile(content: Uint8Array, path: string): Uint8Array {
  if (content.length === KEY_BYTES) {
    if (content.every(isHexDigit)) {
      // 32 hex characters are 16 bytes of key, not 32: refuse rather than guess.
      throw formatError(path, 'it holds 32 hex characters (16 bytes)');
    }
    return new Uint8Array(content);
  }
  let start = 0;
  let end = content.length;
  while (start < end && isBlank(content[start]!)) start++;
  while (end > start && isBlank(content[end - 1]!)) end--;
  const key = end - start === KEY_BYTES * 2 ? decodeHex(content.subarray(start, end)) : undefined;
  if (key !== undefined) return key;
  throw formatError(path, `it is ${content.length} bytes and not 64 hex characters`);
}

/** The bytes String.prototype.trim() removes from latin1 text: TAB, LF, VT, FF, CR, space, NBSP. */
function isBlank(byte: number): boolean {
  return (byte >= 0x09 && byte <= 0x0d) || byte === 0x20 || byte === 0xa0;
}

function isHexDigit(byte: number): boolean {
  return hexValue(byte) >= 0;
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30; // 0-9
  const lower = byte | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10; // a-f, A-F
  return -1;
}

/** Hex digits to bytes, or undefined (the partial output zeroed) at the first non-hex byte. */
function decodeHex(digits: Uint8Array): Uint8Array | undefined {
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) {
    const high = hexValue(digits[2 * i]!);
    const low = hexValue(digits[2 * i + 1]!);
    if (high < 0 || low < 0) {
      out.fill(0);
      return undefined;
    }
    out[i] = (high << 4) | low;
  }
  return out;
}

function formatError(path: string, what: string): SealCryptoError {
  return new SealCryptoError(
    'KEY_FILE_FORMAT',
    `key file ${path} is not a 32-byte key: ${what}; write 64 hex characters ` +
      `(e.g. \`openssl rand -hex 32 > ${path}\`) or exactly 32 raw bytes`,
  );
}
