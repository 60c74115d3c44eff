import { styleText } from 'node:util';

export type Style = Parameters<typeof styleText>[0];

/**
 * Colour only for a person at a terminal: never when NO_COLOR is set (https://no-color.org), on a
 * dumb terminal, or into a pipe or file, unless FORCE_COLOR asks for it. (node:util styleText on
 * Node 20 colours unconditionally, so the decision is made here.)
 */
export function colourWanted(
  stream: { isTTY?: boolean },
  env: NodeJS.ProcessEnv,
  flag = true,
): boolean {
  if (!flag) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** Paints text when colour is on, returns it unchanged otherwise. */
export type Paint = (style: Style, text: string) => string;

export function painter(enabled: boolean): Paint {
  return enabled ? (style, text) => styleText(style, text) : (_style, text) => text;
}
