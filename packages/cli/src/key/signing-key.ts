import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { lstatSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { CliError, cannotRead, codeOf, messageOf } from '../errors.js';

/**
 * The Ed25519 key that signs audit checkpoints. It is its own key, not one derived from the worker
 * token: a checkpoint signature is for someone who holds only the public key, and it is worth
 * something against a holder of the token (who can recompute every record MAC) only when the
 * token does not also give the signing key.
 */
export interface SigningKey {
  key: KeyObject;
  /** The public half as SPKI PEM: what `audit verify --public-key` takes. */
  publicPem: string;
  /** First 8 bytes of SHA-256 of the raw 32-byte public key, hex (as seal key ids are made). */
  id: string;
  /** `--signing-key <path>`, for messages. */
  source: string;
}

const publicHalf = (key: KeyObject) => (key.type === 'public' ? key : createPublicKey(key));

function publicPemOf(key: KeyObject): string {
  return publicHalf(key).export({ type: 'spki', format: 'pem' }).toString();
}

function idOf(key: KeyObject): string {
  const raw = publicHalf(key).export({ format: 'jwk' }).x ?? '';
  return createHash('sha256').update(Buffer.from(raw, 'base64url')).digest('hex').slice(0, 16);
}

/** A signing key held in memory (the demo's throwaway key), described like a loaded one. */
export function signingKeyFrom(key: KeyObject, source: string): SigningKey {
  return { key, publicPem: publicPemOf(key), id: idOf(key), source };
}

/**
 * Reads `--signing-key`: an Ed25519 private key as PKCS#8 PEM (`vramseal audit keygen`, or
 * `openssl genpkey -algorithm ed25519`), a regular file of mode 0600, not a symbolic link. Errors
 * say what to do; no key bytes reach a message.
 */
export function loadSigningKey(file: string): SigningKey {
  const flag = `--signing-key ${file}`;
  let text: string;
  try {
    const stat = lstatSync(file);
    if (stat.isSymbolicLink()) {
      throw new CliError(
        'BAD_KEY',
        `${flag} is a symbolic link; give the path of the key file itself`,
      );
    }
    if (!stat.isFile()) {
      throw new CliError('BAD_KEY', `${flag} is not a regular file; give the private key's file`);
    }
    if ((stat.mode & 0o077) !== 0) {
      throw new CliError(
        'BAD_KEY',
        `${flag} is readable by group or others (mode ${(stat.mode & 0o777).toString(8)}); run \`chmod 600 ${file}\``,
      );
    }
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError('BAD_KEY', cannotRead(flag, error));
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch {
    // No cause: OpenSSL's message could quote the file.
    throw new CliError(
      'BAD_KEY',
      `${flag} is not a private key in PEM; make one with \`vramseal audit keygen <path>\``,
    );
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new CliError(
      'BAD_KEY',
      `${flag} is an ${key.asymmetricKeyType ?? 'unknown'} key; checkpoints are signed with Ed25519: make one with \`vramseal audit keygen <path>\``,
    );
  }
  return { key, publicPem: publicPemOf(key), id: idOf(key), source: flag };
}

/** The public half of a signing key file (which may also be a public key PEM already). */
export function publicKeyOf(file: string): { publicPem: string; id: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError('UNREADABLE_INPUT', cannotRead(file, error));
  }
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch {
    throw new CliError(
      'BAD_KEY',
      `${file} is not an Ed25519 key in PEM; give the file \`vramseal audit keygen\` wrote`,
    );
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new CliError(
      'BAD_KEY',
      `${file} is an ${key.asymmetricKeyType ?? 'unknown'} key; checkpoints are signed with Ed25519`,
    );
  }
  return { publicPem: publicPemOf(key), id: idOf(key) };
}

/**
 * Makes a new Ed25519 key pair: the private key (PKCS#8 PEM, mode 0600) at `file`, the public key
 * (SPKI PEM, mode 0644) at `publicFile`. Neither file may exist already; both or neither are left.
 */
export function generateSigningKey(
  file: string,
  publicFile: string,
): { id: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicPem = publicPemOf(publicKey);
  const write = (target: string, text: string, mode: number, flag: string) => {
    try {
      writeFileSync(target, text, { mode, flag: 'wx' });
    } catch (error) {
      const code = codeOf(error);
      throw new CliError(
        'CANNOT_WRITE',
        code === 'EEXIST'
          ? `${target} exists already; a key is never overwritten: choose another ${flag}`
          : `cannot write ${target} (${code ?? messageOf(error)}); choose a writable ${flag}`,
      );
    }
  };
  write(file, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600, 'path');
  try {
    write(publicFile, publicPem, 0o644, '--public-key path');
  } catch (error) {
    rmSync(file, { force: true });
    throw error;
  }
  return { id: idOf(privateKey), publicPem };
}
