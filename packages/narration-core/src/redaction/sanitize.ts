import { stripVTControlCharacters } from 'node:util';

/**
 * Sanitising: make a string safe to put on one log line and to read in a terminal.
 *
 * - ANSI escape sequences (CSI `ESC [ ... final` and its one-byte form U+009B, OSC
 *   `ESC ] ... BEL|ST`, as node:util's stripVTControlCharacters finds them) are removed: they can
 *   recolour, conceal (`ESC[8m`) or overwrite text in a terminal. Removing them leaves the text
 *   they would have hidden in plain view.
 * - A line-breaking character becomes one space: a value can never start a new (forged) log line,
 *   in JSON or in pretty output, and the words around it stay apart.
 * - An invisible character is removed: it reorders or hides text, or splits a secret so that
 *   redaction would miss it. Sanitising therefore runs before redaction.
 *
 * Which characters are unsafe is one definition, by Unicode property, shared with
 * @vramseal/audit-logging (which refuses what this removes): `testdata/unsafe-characters.json` at
 * the repository root lists every code point, and both packages test against it.
 *
 * The character patterns are single character classes, and stripVTControlCharacters stays linear
 * on adversarial input (a test feeds it megabytes of unterminated sequences), so the cost is linear
 * in the input length.
 */

/** C0/C1 controls, DEL, and U+2028/U+2029 (line and paragraph separators): each becomes a space. */
const LINE_BREAKING = String.raw`\p{Cc}\p{Zl}\p{Zp}`;

/**
 * Format characters (bidi embeddings, overrides, isolates and marks; zero-width characters; the
 * BOM; soft hyphen; tag characters), lone surrogates, and every other default-ignorable code point
 * (Hangul and Khmer fillers, combining grapheme joiner, variation selectors): removed.
 */
const INVISIBLE = String.raw`\p{Cf}\p{Cs}\p{Default_Ignorable_Code_Point}`;

const LINE_BREAKING_CHARS = new RegExp(`[${LINE_BREAKING}]`, 'gu');
const INVISIBLE_CHARS = new RegExp(`[${INVISIBLE}]`, 'gu');

// One scan that answers "is there anything to do at all?"; most log strings are clean.
const UNSAFE_CHAR = new RegExp(`[${LINE_BREAKING}${INVISIBLE}]`, 'u');

/** Returns `text` with control, ANSI, bidi and invisible characters neutralised (see above). */
export function sanitizeText(text: string): string {
  if (!UNSAFE_CHAR.test(text)) return text;
  return stripVTControlCharacters(text)
    .replace(INVISIBLE_CHARS, '')
    .replace(LINE_BREAKING_CHARS, ' ');
}
