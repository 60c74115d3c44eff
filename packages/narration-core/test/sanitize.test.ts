import { createNarrator, sanitizeText } from '@vramseal/narration-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { basicFields, memoryDestination } from './helpers.js';

// Everything sanitizeText must never let through: the shared definition's character classes (see
// testdata/unsafe-characters.json and unsafe-characters.test.ts for every code point they hold).
const FORBIDDEN = /[\p{Cc}\p{Zl}\p{Zp}\p{Cf}\p{Cs}\p{Default_Ignorable_Code_Point}]/u;

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
    [
      'DEL, and a C1 CSI sequence (removed whole, like its ESC [ form)',
      'a\u007fb\u009b31mc',
      'a bc',
    ],
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
    ['soft hyphen and combining grapheme joiner', 'pass\u00adwo\u034frd', 'password'],
    ['Hangul and Khmer fillers', 'a\u115fb\u1160c\u3164d\uffa0e\u17b4f', 'abcdef'],
    ['Mongolian free variation selectors', 'a\u180bb\u180fc', 'abc'],
    ['interlinear annotation marks', 'a\ufff9b\ufffbc', 'abc'],
    // A variation selector is invisible after most characters, so it could split a secret
    // ("pass\ufe0fword") as well as any zero-width character; an emoji keeps its character and
    // loses only the presentation selector.
    ['variation selectors', 'pass\ufe0fword \u{1f6cf}\ufe0f', 'password \u{1f6cf}'],
  ])('%s', (_name, input, expected) => {
    expect(sanitizeText(input)).toBe(expected);
  });

  it('stays linear on megabytes of unterminated escape sequences', () => {
    const inputs = [
      `\u001b[${'1;'.repeat(1 << 19)}`,
      `\u001b]${'a'.repeat(1 << 20)}`,
      '\u001b[1;'.repeat(1 << 18),
      `\u001b${';a'.repeat(1 << 19)}`,
    ];
    for (const input of inputs) {
      const started = performance.now();
      sanitizeText(input);
      expect(performance.now() - started).toBeLessThan(2000);
    }
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
  it('every string a caller can pass is sanitised: fields, context keys and values, bindings, actor, emittedBy', () => {
    const out = memoryDestination();
    const dirty = (name: string) => `${name}\r\n\u001b[31m\u202e\u200b\u00ad!`;
    const stringFields = [
      'session_id',
      'job_id',
      'task_id',
      'pool_id',
      'replica_id',
      'worker_id',
      'shard_id',
      'device',
      'model_ref',
      'engine',
      'engine_version',
      'error_kind',
      'cute',
      'story',
    ];
    const fields: Record<string, unknown> = {
      actor: dirty('actor'),
      action: dirty('action'),
      target: dirty('target'),
      human: dirty('human'),
      correlation_id: dirty('correlation_id'),
      context: { [dirty('key')]: dirty('value'), nested: [dirty('item')] },
    };
    for (const name of stringFields) fields[name] = dirty(name);
    createNarrator({ actor: dirty('narrator'), destination: out, emittedBy: dirty('app@1') })
      .child({ job_id: dirty('bound') })
      .info(fields as never);
    createNarrator({ actor: dirty('narrator'), destination: out, emittedBy: dirty('app@1') })
      .child({ pool_id: dirty('bound') })
      .info(basicFields);
    const events = out.events();
    const strings: string[] = [];
    const collect = (value: unknown): void => {
      if (typeof value === 'string') strings.push(value);
      else if (typeof value === 'object' && value !== null) {
        for (const [key, item] of Object.entries(value)) {
          strings.push(key);
          collect(item);
        }
      }
    };
    collect(events);
    for (const value of strings) expect(value).not.toMatch(FORBIDDEN);
    // Each value survives, cleaned (so the check above looked at real values, not dropped ones).
    const [first, second] = events;
    for (const name of [...stringFields, 'actor', 'action', 'target', 'human', 'correlation_id']) {
      expect((first as unknown as Record<string, unknown>)[name], name).toBe(`${name}  !`);
    }
    expect(first?.context).toEqual({ 'key  !': 'value  !', nested: ['item  !'] });
    expect(first?.emitted_by).toBe('app@1  !');
    expect(second).toMatchObject({ actor: 'narrator  !', pool_id: 'bound  !' });
  });

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
    narrator.info({ ...basicFields, human: 'Using pass\u00adword=hunter2 (soft hyphen).' });
    expect(out.events().map((event) => event.human)).toEqual([
      'Using password=[REDACTED] for the test.',
      'Using password=[REDACTED] (soft hyphen).',
    ]);
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
