import { VramError } from '@vramseal/vram-manager';
import { CliError } from '../errors.js';

/**
 * Where a library argument came from on the command line: the flag or input a person can change
 * (`--model-ref`, `shards[2].modelRef of manifest m.json`), and what to do about it.
 */
export interface InputOrigin {
  name: string;
  /** Said after the library's own reason and fix, where the command line offers more. */
  fix?: string;
}

/** Library argument (`options.modelRef`) or option (`workerId`) -> where the CLI took it from. */
export type InputOrigins = Readonly<Record<string, InputOrigin | undefined>>;

/** The library's name for the input an error is about: INVALID_INPUT's argument, CONFIG_ERROR's option. */
function libraryName(error: VramError): string | undefined {
  if (error.code === 'INVALID_INPUT') return error.argument;
  if (error.code === 'CONFIG_ERROR') return error.option;
  return undefined;
}

/**
 * A VramError about an input the user gave, told in the command line's words: the library's
 * reason, with its option name (`options.device`) replaced by the flag or input it came from, and
 * the CLI's fix after it. Any other error is returned as it is.
 */
export function inputError(error: unknown, origins: InputOrigins): unknown {
  if (!(error instanceof VramError)) return error;
  const name = libraryName(error);
  const origin = name === undefined ? undefined : origins[name];
  if (name === undefined || origin === undefined) return error;
  const reason = error.message
    .replace(/^invalid VramManager option [^:]+: /, '')
    .replace(/^event field "[^"]+"/, name)
    .replace('; strip it before emitting', '')
    .split(name)
    .join(origin.name);
  return new CliError('USAGE', origin.fix === undefined ? reason : `${reason}; ${origin.fix}`, {
    cause: error,
  });
}

/** The origins of what seal and verify pass to every VramManager they make. */
export const MANAGER_ORIGINS: InputOrigins = {
  workerId: { name: '--worker-id', fix: "leaving --worker-id out uses this host's name" },
};

/** A name from the file system as a message shows it: quoted and escaped unless plain ASCII. */
export function shownName(name: string): string {
  return /^[\x20-\x7e]*$/.test(name) ? name : JSON.stringify(name);
}
