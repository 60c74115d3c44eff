import { readFileSync } from 'node:fs';
import { sanitizeText } from '@vramseal/narration-core';
import { describe, expect, it } from 'vitest';

// The one definition of an unsafe character, shared with @vramseal/audit-logging (whose emit
// refuses exactly what sanitizeText neutralises); its own test reads the same file.
interface UnsafeCharacters {
  unicode: string;
  lineBreaking: { codePoints: string[] };
  invisible: { codePoints: string[] };
  safeExamples: string[];
}
const vectors = JSON.parse(
  readFileSync(new URL('../../../testdata/unsafe-characters.json', import.meta.url), 'utf8'),
) as UnsafeCharacters;

function codePoints(ranges: string[]): number[] {
  return ranges.flatMap((range) => {
    const [first, last = first] = range.split('..').map((u) => Number.parseInt(u!.slice(2), 16));
    return Array.from({ length: last! - first! + 1 }, (_, i) => first! + i);
  });
}

const lineBreaking = new Set(codePoints(vectors.lineBreaking.codePoints));
const invisible = new Set(codePoints(vectors.invisible.codePoints));

describe('sanitizeText against testdata/unsafe-characters.json', () => {
  it('the listed examples of safe text pass unchanged', () => {
    for (const cp of codePoints(vectors.safeExamples)) {
      const text = `a${String.fromCodePoint(cp)}b`;
      expect(sanitizeText(text), `U+${cp.toString(16)}`).toBe(text);
    }
  });

  it('the characters both packages disagreed on are invisible (U+3164 and the other fillers)', () => {
    for (const cp of [0x115f, 0x1160, 0x17b4, 0x17b5, 0x3164, 0xffa0, 0xfe0f, 0x034f]) {
      expect(invisible.has(cp), `U+${cp.toString(16)}`).toBe(true);
      expect(sanitizeText(`a${String.fromCodePoint(cp)}b`)).toBe('ab');
    }
  });

  // The lists are Unicode properties as this Node's Unicode version expands them.
  it.runIf(process.versions.unicode === vectors.unicode)(
    `every code point: a space for a line-breaking one, removed if invisible, else kept (Unicode ${vectors.unicode})`,
    () => {
      const wrong: string[] = [];
      for (let cp = 0; cp <= 0x10ffff; cp++) {
        const char = String.fromCodePoint(cp);
        const expected = lineBreaking.has(cp) ? 'a b' : invisible.has(cp) ? 'ab' : `a${char}b`;
        if (sanitizeText(`a${char}b`) !== expected) wrong.push(`U+${cp.toString(16)}`);
      }
      expect(wrong).toEqual([]);
    },
  );
});
