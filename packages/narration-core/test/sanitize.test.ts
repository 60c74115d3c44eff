import { createNarrator, sanitizeText } from '@vramseal/narration-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { basicFields, memoryDestination } from './helpers.js';

// Everything sanitizeText must never let through.
const FORBIDDEN =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for control characters
  /[\x00-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|\udb40[\udc00-\udc7f]/;

describe('sanitizeText', () => {
  it.each([
    [
      'LF',
      'sealed\n{"level":"fatal","human":"forged"}',
      'sealed {"level":"fatal","human":"forged"}',
    ],
    ['CR', 'progress 10%\rprogress 100%', 'progress 10% progress 100%'],
    ['CRLF', 'a\r\nb', 'a  b'],
    ['tab and NUL', 'a\tb\u0000c', 'a b c'],
    ['DEL and C1 CSI', 'a\u007fb\u009b31mc', 'a b 31mc'],
    ['line and paragraph separators', 'a\u2028b\u2029c', 'a b c'],
    ['ANSI colour', '\u001b[31mred\u001b[0m text', 'red text'],
    ['ANSI conceal keeps the hidden text visible', 'ok \u001b[8mhidden\u001b[28m', 'ok hidden'],
    ['ANSI cursor movement', 'done\u001b[2K\u001b[1Gforged', 'doneforged'],
    ['OSC hyperlink (BEL)', '\u001b]8;;https://evil.example\u0007click\u001b]8;;\u0007', 'click'],
    ['OSC title (ST)', '\u001b]0;title\u001b\\text', 'text'],
    ['bidi override', 'invoice\u202Efdp.exe', 'invoicefdp.exe'],
    ['bidi isolates', 'a\u2066b\u2067c\u2068d\u2069e', 'abcde'],
    ['LRM/RLM and Arabic letter mark', 'a\u200eb\u200fc\u061cd', 'abcd'],
    ['zero-width space, joiner, BOM', 'to\u200bk\u200den\ufeff', 'token'],
    ['word joiner and invisible operators', 'a\u2060b\u2062c', 'abc'],
    ['Unicode tag characters', `a${String.fromCodePoint(0xe0041, 0xe0042)}b`, 'ab'],
  ])('%s', (_name, input, expected) => {
    expect(sanitizeText(input)).toBe(expected);
  });

  it('returns clean text unchanged (same string)', () => {
    const text = 'Sealed shard 3 of llama-3-8b on GPU0 in 412 ms. 🎉 Grüße, 日本語';
    expect(sanitizeText(text)).toBe(text);
  });

  it('never lets a control, bidi or invisible character through, for any input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 100 }), (text) => {
        const clean = sanitizeText(text);
        expect(clean).not.toMatch(FORBIDDEN);
        expect(sanitizeText(clean)).toBe(clean);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('sanitising in narration', () => {
  it('a value with line breaks cannot forge a second log line (JSON output)', () => {
    const out = memoryDestination();
    const narrator = createNarrator({ actor: 'gateway', destination: out });
    const forged = '\n{"level":"fatal","actor":"admin","human":"forged"}\r\n';
    narrator.info({
      action: `login${forged}`,
      target: `user${forged}`,
      human: `Login failed.${forged}`,
      worker_id: forged,
      story: forged,
      context: { note: forged },
    });
    expect(out.lines).toHaveLength(1);
    const [event] = out.events();
    expect(event?.actor).toBe('gateway');
    expect(event?.level).toBe('info');
    for (const value of [event?.action, event?.target, event?.human, event?.worker_id]) {
      expect(value).not.toMatch(/[\r\n]/);
    }
  });

  it('a value with line breaks cannot forge a second line in pretty output either', async () => {
    const chunks: string[] = [];
    const narrator = createNarrator({
      actor: 'gateway',
      format: 'pretty',
      destination: { write: (chunk: string) => chunks.push(chunk) },
    });
    narrator.info({ ...basicFields, human: 'Login failed.\nINFO admin: all good' });
    await new Promise((resolve) => setImmediate(resolve));
    const text = chunks.join('');
    expect(text).toContain('Login failed.');
    expect(text.trimEnd().split('\n')).toHaveLength(1);
  });

  it('an invisible character cannot split a secret to hide it from redaction', () => {
    const out = memoryDestination();
    const narrator = createNarrator({ actor: 'gateway', destination: out });
    narrator.info({ ...basicFields, human: 'Using pass\u200bword=hunter2 for the test.' });
    expect(out.events()[0]?.human).toBe('Using password=[REDACTED] for the test.');
  });

  it('ANSI escapes are removed from every string field', () => {
    const out = memoryDestination();
    const narrator = createNarrator({ actor: '\u001b[31mgateway\u001b[0m', destination: out });
    narrator.info({ ...basicFields, target: '\u001b[8mshard-0', model_ref: 'm\u001b[1m' });
    const [event] = out.events();
    expect(event?.actor).toBe('gateway');
    expect(event?.target).toBe('shard-0');
    expect(event?.model_ref).toBe('m');
  });
});
