/**
 * Sanitising: make a string safe to put on one log line and to read in a terminal.
 *
 * - ANSI escape sequences (CSI `ESC [ ... final`, OSC `ESC ] ... BEL|ST`) are removed: they can
 *   recolour, conceal (`ESC[8m`) or overwrite text in a terminal. Removing them leaves the text
 *   they would have hidden in plain view.
 * - CR, LF, TAB, every other C0/C1 control, DEL and U+2028/U+2029 become one space: a value can
 *   never start a new (forged) log line, in JSON or in pretty output.
 * - Bidi embeddings/overrides/isolates (U+202A-U+202E, U+2066-U+2069), zero-width and other
 *   invisible characters (U+200B-U+200F, U+2060-U+2065, U+FEFF, U+061C, U+180B-U+180F, soft
 *   hyphen U+00AD, combining grapheme joiner U+034F, the Hangul and Khmer fillers U+115F,
 *   U+1160, U+17B4, U+17B5, U+3164, U+FFA0, interlinear annotation marks U+FFF9-U+FFFB) and
 *   Unicode tag characters (U+E0000-U+E007F) are removed: they reorder or hide text, or split a
 *   secret so that redaction would miss it. Sanitising therefore runs before redaction.
 *
 * Every pattern below is a single character class or a sequence of disjoint classes with bounded
 * repetition, so the cost is linear in the input length.
 */

// CSI: ESC [ parameter bytes (0x30-0x3F)* intermediate bytes (0x20-0x2F)* final byte (0x40-0x7E),
// ECMA-48 section 5.4. OSC: ESC ] text terminated by BEL or ST (ESC \), bounded to 1024 chars.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the job
const ANSI_SEQUENCE = /\x1b\[[0-?]{0,64}[ -/]{0,16}[@-~]|\x1b\][^\x07\x1b]{0,1024}(?:\x07|\x1b\\)/g;

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the job
const LINE_BREAKING_OR_CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;

// The classes list single code points to remove, combining marks among them (U+034F, U+17B4,
// U+180B...): each is matched on its own, never as part of a composed character.
const INVISIBLE_OR_BIDI =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: single code points, see above
  /[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u2069\u3164\ufeff\uffa0\ufff9-\ufffb]|\udb40[\udc00-\udc7f]/g;

// One scan that answers "is there anything to do at all?"; most log strings are clean.
const NEEDS_SANITISING =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the job
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: single code points, see above
  /[\x00-\x1f\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2028-\u202e\u2060-\u2069\u3164\ufeff\uffa0\ufff9-\ufffb\udb40]/;

/** Returns `text` with control, ANSI, bidi and invisible characters neutralised (see above). */
export function sanitizeText(text: string): string {
  if (!NEEDS_SANITISING.test(text)) return text;
  return text
    .replace(ANSI_SEQUENCE, '')
    .replace(INVISIBLE_OR_BIDI, '')
    .replace(LINE_BREAKING_OR_CONTROL, ' ');
}
