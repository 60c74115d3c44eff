import { AsyncLocalStorage } from 'node:async_hooks';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Context, context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import {
  createNarrator,
  HUMAN_MAX_CHARS,
  injectCorrelationHeaders,
  NARRATION_LEVELS,
  NarrationError,
  type NarrationFields,
  type NarratorOptions,
  withCorrelation,
} from '@vramseal/narration-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { basicFields, memoryDestination, THIS_PACKAGE } from './helpers.js';

function narratorTo(options: Partial<NarratorOptions> = {}) {
  const out = memoryDestination();
  const narrator = createNarrator({ actor: 'vram-manager', destination: out, ...options });
  return { out, narrator };
}

function codeOf(fn: () => unknown): {
  code: string;
  argument: string | undefined;
  message: string;
} {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(NarrationError);
    const { code, argument, message } = error as NarrationError;
    return { code, argument, message };
  }
  throw new Error('expected a NarrationError, nothing was thrown');
}

describe('fields', () => {
  it('writes every field of NarrationFields, with its value', () => {
    const { out, narrator } = narratorTo();
    const fields: Required<Omit<NarrationFields, 'actor'>> = {
      action: 'seal',
      target: 'shard-0',
      human: 'Sealed shard 0 of llama-3-8b on GPU0.',
      correlation_id: '0f8fad5b-d9cb-469f-a165-70867728950e',
      session_id: 'sess-1',
      job_id: 'job-2',
      task_id: 'task-3',
      pool_id: 'pool-a',
      replica_id: 'replica-1',
      worker_id: 'worker-7',
      shard_id: 'shard-0',
      device: 'GPU0',
      model_ref: 'hf:meta-llama/Meta-Llama-3-8B',
      engine: 'vllm',
      engine_version: '0.6.1',
      duration_ms: 412,
      error_kind: 'none',
      retry_after_ms: 1000,
      backoff_ms: 250,
      queue_position: 3,
      predicted_start_ms: 1500,
      tokens_in: 512,
      tokens_out: 128,
      decode_time_ms: 77.5,
      cute: 'Shard 0 is tucked in safely on GPU0! 🎉',
      story: 'The manager copied 1 GiB to GPU0, hashed it on the way, and signed the seal.',
      context: { bytes: 1073741824, leaf_size: 65536 },
    };
    narrator.info(fields);
    const [event] = out.events();
    for (const [key, value] of Object.entries(fields)) {
      expect(event, key).toHaveProperty([key], value);
    }
    expect(event?.actor).toBe('vram-manager');
    expect(event?.level).toBe('info');
    expect(event?.narration_defects).toBeUndefined();
  });

  it('adds provenance: emitted_by (the calling package) and emitted_at_ms', () => {
    const { out, narrator } = narratorTo();
    const before = Date.now();
    narrator.info(basicFields);
    const [event] = out.events();
    expect(event?.emitted_by).toBe(THIS_PACKAGE);
    expect(narrator.emittedBy).toBe(THIS_PACKAGE);
    expect(event?.emitted_at_ms).toBeGreaterThanOrEqual(before);
    expect(event?.emitted_at_ms).toBeLessThanOrEqual(Date.now());
  });

  it('finds emitted_by from the package of the code that called createNarrator', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'narration-caller-'));
    writeFileSync(join(dir, 'package.json'), '{"name":"consumer-app","version":"2.3.4"}');
    writeFileSync(
      join(dir, 'make.mjs'),
      'export function make(createNarrator, options) { return createNarrator(options); }\n',
    );
    const { make } = (await import(pathToFileURL(join(dir, 'make.mjs')).href)) as {
      make: (
        create: typeof createNarrator,
        options: NarratorOptions,
      ) => ReturnType<typeof createNarrator>;
    };
    const out = memoryDestination();
    make(createNarrator, { actor: 'consumer', destination: out }).info(basicFields);
    expect(out.events()[0]?.emitted_by).toBe('consumer-app@2.3.4');
  });

  it('uses the emittedBy option when given, cleaned like any value', () => {
    const { out, narrator } = narratorTo({ emittedBy: '@acme/worker@1.2.3\n' });
    narrator.info(basicFields);
    expect(out.events()[0]?.emitted_by).toBe('@acme/worker@1.2.3 ');
  });

  it('an event may override the narrator actor', () => {
    const { out, narrator } = narratorTo();
    narrator.info({ ...basicFields, actor: 'seal-crypto' });
    expect(out.events()[0]?.actor).toBe('seal-crypto');
  });

  it('accepts a numeric device index', () => {
    const { out, narrator } = narratorTo();
    narrator.info({ ...basicFields, device: 0 });
    expect(out.events()[0]?.device).toBe(0);
  });

  it('bounds very long string values, after redaction', () => {
    const { out, narrator } = narratorTo();
    narrator.info({ ...basicFields, story: `token=abc ${'x'.repeat(20_000)}` });
    const story = out.events()[0]?.story ?? '';
    expect(story.startsWith('token=[REDACTED] ')).toBe(true);
    expect(story).toMatch(/…\[truncated \d+ chars\]$/);
    expect(story.length).toBeLessThan(8300);
  });
});

describe('levels', () => {
  it.each(NARRATION_LEVELS)('%s() writes an event with level "%s"', (level) => {
    const { out, narrator } = narratorTo({ level: 'trace' });
    narrator[level](basicFields);
    expect(out.events().map((event) => event.level)).toEqual([level]);
  });

  it('narrate() writes at info', () => {
    const { out, narrator } = narratorTo();
    narrator.narrate(basicFields);
    expect(out.events()[0]?.level).toBe('info');
  });

  it('the level option filters lower levels; isLevelEnabled agrees', () => {
    const { out, narrator } = narratorTo({ level: 'warn' });
    for (const level of NARRATION_LEVELS) narrator[level]({ ...basicFields, action: level });
    expect(out.events().map((event) => event.action)).toEqual(['warn', 'error', 'fatal']);
    expect(narrator.isLevelEnabled('info')).toBe(false);
    expect(narrator.isLevelEnabled('warn')).toBe(true);
  });

  it('defaults to info, and silent writes nothing', () => {
    const { out, narrator } = narratorTo();
    narrator.debug(basicFields);
    expect(out.lines).toHaveLength(0);
    const silent = narratorTo({ level: 'silent' });
    for (const level of NARRATION_LEVELS) silent.narrator[level](basicFields);
    expect(silent.out.lines).toHaveLength(0);
  });
});

describe("invalid events, policy 'throw'", () => {
  it.each([
    ['action', { target: 't', human: 'h' }],
    ['target', { action: 'a', human: 'h' }],
    ['human', { action: 'a', target: 't' }],
    ['action', { action: '', target: 't', human: 'h' }],
    ['target', { action: 'a', target: 42, human: 'h' }],
    ['action', { action: '  ', target: 't', human: 'h' }],
    ['target', { action: 'a', target: '\u200b\u202e', human: 'h' }],
    ['human', { action: 'a', target: 't', human: '\r\n' }],
  ])('missing or bad %s throws INVALID_NARRATION naming it, and writes nothing', (name, fields) => {
    const { out, narrator } = narratorTo({ onInvalid: 'throw' });
    const error = codeOf(() => narrator.info(fields as unknown as NarrationFields));
    expect(error.code).toBe('INVALID_NARRATION');
    expect(error.argument).toBe(name);
    expect(error.message).toContain(`\`${name}\``);
    expect(out.lines).toHaveLength(0);
  });

  it('a human sentence over 100 characters throws, saying the limit and what to do', () => {
    const { out, narrator } = narratorTo({ onInvalid: 'throw' });
    const error = codeOf(() => narrator.info({ ...basicFields, human: 'a'.repeat(101) }));
    expect(error.argument).toBe('human');
    expect(error.message).toMatch(/101 characters; the limit is 100/);
    expect(error.message).toMatch(/story/);
    expect(out.lines).toHaveLength(0);
  });

  it('the limit applies to the sentence as written: redaction lengthening it does not count', () => {
    const { out, narrator } = narratorTo({ onInvalid: 'throw' });
    const human = `Connected with token=ab ${'x'.repeat(70)}.`;
    expect(Array.from(human).length).toBeLessThanOrEqual(HUMAN_MAX_CHARS);
    narrator.info({ ...basicFields, human });
    const written = out.events()[0]?.human ?? '';
    expect(written).toBe(`Connected with token=[REDACTED] ${'x'.repeat(70)}.`);
    expect(Array.from(written).length).toBeGreaterThan(HUMAN_MAX_CHARS);
  });

  it('counts code points, not UTF-16 units: 100 emoji are fine', () => {
    const { out, narrator } = narratorTo({ onInvalid: 'throw' });
    narrator.info({ ...basicFields, human: '🎉'.repeat(HUMAN_MAX_CHARS) });
    expect(out.events()[0]?.human).toBe('🎉'.repeat(100));
  });

  it('wrong types and unknown fields throw, naming the field', () => {
    const { narrator } = narratorTo({ onInvalid: 'throw' });
    const bad = (extra: Record<string, unknown>) => () =>
      narrator.info({ ...basicFields, ...extra } as NarrationFields);
    expect(codeOf(bad({ duration_ms: 'fast' })).argument).toBe('duration_ms');
    expect(codeOf(bad({ tokens_in: Number.NaN })).argument).toBe('tokens_in');
    expect(codeOf(bad({ worker_id: 7 })).argument).toBe('worker_id');
    expect(codeOf(bad({ context: 'text' })).argument).toBe('context');
    expect(codeOf(bad({ colour: 'blue' })).message).toMatch(/context/);
  });

  it('error messages never contain the offending value (it may hold a secret)', () => {
    const { narrator } = narratorTo({ onInvalid: 'throw' });
    const error = codeOf(() =>
      narrator.info({ ...basicFields, human: `password=hunter2 ${'x'.repeat(200)}` }),
    );
    expect(error.message).not.toContain('hunter2');
  });

  it('an unknown field name is cleaned before it is named in the error', () => {
    const { narrator } = narratorTo({ onInvalid: 'throw' });
    const error = codeOf(() =>
      narrator.info({ ...basicFields, 'token=hunter2\nx': 1 } as unknown as NarrationFields),
    );
    expect(error.argument).toBe('token=[REDACTED] x');
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('\n');
  });
});

describe("invalid events, policy 'repair'", () => {
  it('writes the event anyway, with placeholders and narration_defects', () => {
    const { out, narrator } = narratorTo({ onInvalid: 'repair' });
    narrator.info({ action: 'seal', human: 'Sealed.' } as NarrationFields);
    narrator.info({ action: 'seal', target: 'shard-0' } as NarrationFields);
    const [first, second] = out.events();
    expect(first?.target).toBe('unknown');
    expect(first?.narration_defects).toEqual(['missing:target']);
    expect(second?.human).toBe('vram-manager seal shard-0.');
    expect(second?.narration_defects).toEqual(['missing:human']);
  });

  it('truncates a long human sentence to 100 code points ending in …', () => {
    const { out, narrator } = narratorTo({ onInvalid: 'repair' });
    narrator.info({ ...basicFields, human: `${'a'.repeat(98)}🎉🎉🎉 and more` });
    const [event] = out.events();
    expect(Array.from(event?.human ?? '')).toHaveLength(100);
    expect(event?.human).toBe(`${'a'.repeat(98)}🎉…`);
    expect(event?.narration_defects).toEqual(['too_long:human']);
  });

  it('drops wrongly typed and unknown fields, and says so', () => {
    const { out, narrator } = narratorTo({ onInvalid: 'repair' });
    narrator.info({
      ...basicFields,
      duration_ms: 'fast',
      colour: 'blue',
    } as unknown as NarrationFields);
    const [event] = out.events();
    expect(event).not.toHaveProperty('duration_ms');
    expect(event).not.toHaveProperty('colour');
    expect(event?.narration_defects).toEqual(['invalid:duration_ms', 'invalid:colour']);
  });

  it('survives a non-object argument', () => {
    const { out, narrator } = narratorTo({ onInvalid: 'repair' });
    narrator.info(undefined as unknown as NarrationFields);
    expect(out.events()[0]?.narration_defects).toEqual([
      'missing:action',
      'missing:target',
      'missing:human',
    ]);
  });
});

describe('default policy follows NODE_ENV', () => {
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it.each([
    ['test', 'throw'],
    ['development', 'throw'],
    ['production', 'repair'],
    [undefined, 'repair'],
  ])('NODE_ENV=%s -> %s', (env, policy) => {
    vi.stubEnv('NODE_ENV', env);
    const { out, narrator } = narratorTo();
    vi.unstubAllEnvs();
    const call = () => narrator.info({ action: 'a', target: 't' } as NarrationFields);
    if (policy === 'throw') {
      expect(call).toThrow(NarrationError);
    } else {
      call();
      expect(out.events()[0]?.narration_defects).toEqual(['missing:human']);
    }
  });
});

describe('context', () => {
  it('redacts secret-named keys and secret-looking strings, keeps the rest', () => {
    const { out, narrator } = narratorTo();
    narrator.info({
      ...basicFields,
      context: {
        password: 'hunter2',
        apiKey: 'k',
        Authorization: 'Bearer abc',
        db_password: 'pw',
        accessToken: 't',
        max_tokens: 4096,
        url: 'postgres://admin:s3cret@db/app',
        nested: { note: 'sent token=abc123 upstream', deeper: [{ secret: 'x' }] },
        aws_secret_access_key: 'wJalrXUtnFEMI/K7MDENG',
        secretKey: 'sk',
        pwd: 'pw',
        'x-api-key': 'xk',
        token_count: 3,
        keyId: 'kid-1',
        hotkey: 'ctrl-k',
      },
    });
    expect(out.events()[0]?.context).toEqual({
      password: '[REDACTED]',
      apiKey: '[REDACTED]',
      Authorization: '[REDACTED]',
      db_password: '[REDACTED]',
      accessToken: '[REDACTED]',
      max_tokens: 4096,
      url: 'postgres://admin:[REDACTED]@db/app',
      nested: { note: 'sent token=[REDACTED] upstream', deeper: [{ secret: '[REDACTED]' }] },
      aws_secret_access_key: '[REDACTED]',
      secretKey: '[REDACTED]',
      pwd: '[REDACTED]',
      'x-api-key': '[REDACTED]',
      token_count: 3,
      keyId: 'kid-1',
      hotkey: 'ctrl-k',
    });
  });

  it('writes errors, bigint, dates, cycles and deep objects safely', () => {
    const { out, narrator } = narratorTo();
    const cycle: Record<string, unknown> = { name: 'loop' };
    cycle.self = cycle;
    const error = Object.assign(new Error('failed with token=abc123'), { code: 'E_SEAL' });
    narrator.info({
      ...basicFields,
      context: {
        error,
        big: 2n ** 64n,
        at: new Date(0),
        cycle,
        deep: { a: { b: { c: { d: 1 } } } },
        fn: () => 1,
        many: Array.from({ length: 150 }, (_, i) => i),
      },
    });
    const written = out.events()[0]?.context as Record<string, unknown>;
    expect(written.error).toEqual({
      name: 'Error',
      message: 'failed with token=[REDACTED]',
      code: 'E_SEAL',
    });
    expect(written.big).toBe('18446744073709551616');
    expect(written.at).toBe('1970-01-01T00:00:00.000Z');
    expect(written.cycle).toEqual({ name: 'loop', self: '[Circular]' });
    expect(written.deep).toEqual({ a: { b: { c: '[Depth limit]' } } });
    expect(written).not.toHaveProperty('fn');
    expect((written.many as unknown[]).length).toBe(101);
    expect((written.many as unknown[])[100]).toBe('[50 more items]');
  });

  it('a context getter that narrates does not disturb the outer event', () => {
    const { out, narrator } = narratorTo({ onInvalid: 'repair' });
    narrator.info({
      action: 'outer',
      human: 'Outer event.',
      duration_ms: 'slow',
      context: {
        get lazy() {
          narrator.info({
            ...basicFields,
            action: 'inner',
            duration_ms: 'fast',
          } as unknown as NarrationFields);
          return 1;
        },
      },
    } as unknown as NarrationFields);
    const [inner, outer] = out.events();
    expect(inner).toMatchObject({ action: 'inner', narration_defects: ['invalid:duration_ms'] });
    expect(outer).toMatchObject({
      action: 'outer',
      target: 'unknown',
      context: { lazy: 1 },
      narration_defects: ['missing:target', 'invalid:duration_ms'],
    });
  });

  it('a throwing getter or proxy in context costs that value, never the event', () => {
    for (const onInvalid of ['throw', 'repair'] as const) {
      const { out, narrator } = narratorTo({ onInvalid });
      const message = Object.defineProperty(new Error('m'), 'message', {
        get() {
          throw new Error('getter');
        },
      });
      narrator.info({
        ...basicFields,
        context: {
          ok: 1,
          get bad() {
            throw new Error('getter');
          },
          proxy: new Proxy(
            {},
            {
              ownKeys() {
                throw new Error('trap');
              },
            },
          ),
          error: message,
        },
      });
      expect(out.events()[0]?.context, onInvalid).toEqual({
        ok: 1,
        bad: '[Unreadable]',
        proxy: '[Unreadable]',
        error: '[Unreadable]',
      });
    }
  });
});

describe('child narrators', () => {
  it('add their bindings to every event; the event wins on conflict', () => {
    const { out, narrator } = narratorTo();
    const child = narrator.child({ worker_id: 'worker-1', device: 'GPU1', context: { a: 1 } });
    const grandchild = child.child({ actor: 'verifier', context: { b: 2 } });
    child.info(basicFields);
    grandchild.info({ ...basicFields, device: 'GPU2', context: { c: 3 } });
    const [first, second] = out.events();
    expect(first).toMatchObject({ actor: 'vram-manager', worker_id: 'worker-1', device: 'GPU1' });
    expect(first?.context).toEqual({ a: 1 });
    expect(second).toMatchObject({ actor: 'verifier', worker_id: 'worker-1', device: 'GPU2' });
    expect(second?.context).toEqual({ a: 1, b: 2, c: 3 });
    expect(grandchild.actor).toBe('verifier');
  });

  it('bindings are sanitised and redacted once, when the child is made', () => {
    const { out, narrator } = narratorTo();
    narrator.child({ session_id: 'token=abc123\nx' }).info(basicFields);
    expect(out.events()[0]?.session_id).toBe('token=[REDACTED] x');
  });

  it('rejects bad bindings with INVALID_ARGUMENT naming the binding', () => {
    const { narrator } = narratorTo();
    const bad = (bindings: unknown) => () => narrator.child(bindings as never);
    expect(codeOf(bad({ human: 'x' })).argument).toBe('bindings.human');
    expect(codeOf(bad({ duration_ms: 'slow' })).argument).toBe('bindings.duration_ms');
    expect(codeOf(bad({ actor: '' })).argument).toBe('bindings.actor');
    expect(codeOf(bad(null)).code).toBe('INVALID_ARGUMENT');
  });
});

describe('options', () => {
  it.each([
    ['actor', { actor: '' }],
    ['actor', { actor: 42 }],
    ['level', { actor: 'a', level: 'verbose' }],
    ['format', { actor: 'a', format: 'xml' }],
    ['onInvalid', { actor: 'a', onInvalid: 'ignore' }],
    ['redact', { actor: 'a', redact: 'password' }],
    ['redact', { actor: 'a', redact: [''] }],
    ['redact', { actor: 'a', redact: ['context..user'] }],
    ['redact', { actor: 'a', redact: ['context[user'] }],
    ['sample', { actor: 'a', sample: 'fast' }],
    ['sample.maxPerWindow', { actor: 'a', sample: { maxPerWindow: 0 } }],
    ['sample.windowMs', { actor: 'a', sample: { windowMs: 1.5 } }],
    ['sample.maxKeys', { actor: 'a', sample: { maxKeys: -1 } }],
    ['emittedBy', { actor: 'a', emittedBy: ' ' }],
    ['destination', { actor: 'a', destination: '' }],
    ['destination', { actor: 'a', destination: -1 }],
    ['destination', { actor: 'a', destination: { log() {} } }],
    ['options', undefined],
  ])('a bad %s throws INVALID_OPTION naming it', (name, options) => {
    const error = codeOf(() => createNarrator(options as NarratorOptions));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.argument).toBe(name);
    expect(error.message).toContain(`\`${name}\``);
  });

  it('destination: a file path (folders created, appended, one line per event)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'narration-')), 'logs', 'narration.jsonl');
    createNarrator({ actor: 'a', destination: file }).info(basicFields);
    createNarrator({ actor: 'b', destination: file }).info(basicFields);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { actor: string }).actor)).toEqual(['a', 'b']);
  });

  it('a bad option opens no destination: the log file is not created', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'narration-')), 'logs', 'narration.jsonl');
    expect(() => createNarrator({ actor: 'a', destination: file, redact: ['a..b'] })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', argument: 'redact' }),
    );
    expect(existsSync(file)).toBe(false);
  });

  it('a destination that cannot be written is INVALID_OPTION at creation, naming the cause', () => {
    const dir = mkdtempSync(join(tmpdir(), 'narration-'));
    const file = join(dir, 'plain-file');
    writeFileSync(file, '');
    const notOpenFd = 2 ** 30; // far above any process's file limit, so never open
    for (const [destination, cause] of [
      [dir, /EISDIR/],
      [join(file, 'below-a-file.log'), /ENOTDIR|EEXIST/],
      [notOpenFd, /EBADF/],
    ] as const) {
      const error = codeOf(() => createNarrator({ actor: 'a', destination }));
      expect(error).toMatchObject({ code: 'INVALID_OPTION', argument: 'destination' });
      expect(error.message).toMatch(cause);
    }
  });

  it('destination: a file descriptor', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'narration-')), 'fd.jsonl');
    const fd = openSync(file, 'w');
    try {
      createNarrator({ actor: 'a', destination: fd }).info(basicFields);
    } finally {
      closeSync(fd);
    }
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ actor: 'a', action: 'seal' });
  });

  it('redact: pino paths are censored in the output', () => {
    const { out, narrator } = narratorTo({ redact: ['context.user.email', 'pool_id'] });
    narrator.info({ ...basicFields, pool_id: 'p', context: { user: { email: 'a@b.c', id: 1 } } });
    const [event] = out.events();
    expect(event?.pool_id).toBe('[REDACTED]');
    expect(event?.context).toEqual({ user: { email: '[REDACTED]', id: 1 } });
  });

  it("format 'pretty' writes one readable line with the human sentence", async () => {
    const chunks: string[] = [];
    const narrator = createNarrator({
      actor: 'vram-manager',
      format: 'pretty',
      destination: { write: (chunk: string) => chunks.push(chunk) },
    });
    narrator.warn({ ...basicFields, worker_id: 'worker-7' });
    await new Promise((resolve) => setImmediate(resolve));
    const text = chunks.join('');
    expect(text).toMatch(/WARN/);
    expect(text).toContain('Sealed shard 0 of llama-3-8b on GPU0.');
    expect(text).toContain('worker-7');
    expect(text).not.toContain('{"level"');
  });
});

describe('OpenTelemetry', () => {
  // A minimal context manager, as an OpenTelemetry SDK would register.
  const storage = new AsyncLocalStorage<Context>();
  beforeAll(() => {
    context.setGlobalContextManager({
      active: () => storage.getStore() ?? ROOT_CONTEXT,
      with: (ctx, fn, thisArg, ...args) => storage.run(ctx, () => fn.call(thisArg, ...args)),
      bind: (_ctx, target) => target,
      enable() {
        return this;
      },
      disable() {
        return this;
      },
    });
  });
  afterAll(() => {
    context.disable();
  });

  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const spanId = '00f067aa0ba902b7';

  it('adds trace_id and span_id of the active span', () => {
    const { out, narrator } = narratorTo();
    const span = trace.wrapSpanContext({ traceId, spanId, traceFlags: 1 });
    context.with(trace.setSpan(context.active(), span), () => narrator.info(basicFields));
    narrator.info(basicFields);
    const [inside, outside] = out.events();
    expect(inside).toMatchObject({ trace_id: traceId, span_id: spanId });
    expect(outside).not.toHaveProperty('trace_id');
  });

  it('injectCorrelationHeaders sends the active span as traceparent (it wins over the request)', () => {
    const span = trace.wrapSpanContext({ traceId, spanId, traceFlags: 1 });
    const incoming = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-00`;
    const headers = withCorrelation(
      { correlationId: '0f8fad5b-d9cb-469f-a165-70867728950e', traceparent: incoming },
      () => context.with(trace.setSpan(context.active(), span), () => injectCorrelationHeaders({})),
    );
    expect(headers).toEqual({
      'x-correlation-id': '0f8fad5b-d9cb-469f-a165-70867728950e',
      traceparent: `00-${traceId}-${spanId}-01`,
    });
  });

  it('without a span, takes trace_id from the traceparent the request came with', () => {
    const { out, narrator } = narratorTo();
    withCorrelation(
      {
        correlationId: '0f8fad5b-d9cb-469f-a165-70867728950e',
        traceparent: `00-${traceId}-${spanId}-01`,
      },
      () => narrator.info(basicFields),
    );
    expect(out.events()[0]?.trace_id).toBe(traceId);
  });
});
