import { deriveKey, loadKeyFile, type SecretKey } from '@vramseal/seal-crypto';
import { CliError, codeOf, messageOf } from '../errors.js';

/** The environment variable that holds the worker token when no --key-file is given. */
export const TOKEN_ENV = 'VRAMSEAL_WORKER_TOKEN';

/** The two keys a worker's secret gives (HKDF, one label each): seals and the audit log. */
export interface WorkerKeys {
  seal: SecretKey;
  audit: SecretKey;
  /** Where they came from, for messages: `key file <path>` or `$VRAMSEAL_WORKER_TOKEN`. */
  source: string;
}

/**
 * The worker's keys from --key-file (32 bytes, mode 0600: seal-crypto's loadKeyFile) or else from
 * the token in VRAMSEAL_WORKER_TOKEN. Neither the token nor the key bytes ever reach a message.
 */
export function workerKeys(keyFile: string | undefined, env: NodeJS.ProcessEnv): WorkerKeys {
  if (keyFile !== undefined) {
    let material: Uint8Array;
    try {
      material = loadKeyFile(keyFile);
    } catch (error) {
      // seal-crypto's messages name the file and the fix (chmod 600, the real path), never bytes.
      throw new CliError('BAD_KEY', messageOf(error), { cause: error });
    }
    try {
      return {
        seal: deriveKey(material, 'seal'),
        audit: deriveKey(material, 'audit'),
        source: `key file ${keyFile}`,
      };
    } finally {
      material.fill(0);
    }
  }
  const token = env[TOKEN_ENV];
  if (token === undefined || token === '') {
    throw new CliError(
      'MISSING_KEY',
      `no seal key was given: pass --key-file <path> (a 32-byte key, mode 0600) or set ${TOKEN_ENV} to the worker token`,
    );
  }
  try {
    return {
      seal: deriveKey(token, 'seal'),
      audit: deriveKey(token, 'audit'),
      source: `$${TOKEN_ENV}`,
    };
  } catch (error) {
    if (codeOf(error) === 'WEAK_SECRET') {
      throw new CliError(
        'BAD_KEY',
        `${TOKEN_ENV} is too weak (shorter than 16 bytes or repetitive); set it to a random token such as the output of \`openssl rand -hex 32\``,
      );
    }
    // No cause attached: nothing derived from the token goes near a printed stack.
    throw new CliError('BAD_KEY', `${TOKEN_ENV} cannot be used as a key; set it to a random token`);
  }
}
