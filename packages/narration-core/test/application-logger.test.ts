import { createNarrator, NarrationError } from '@vramseal/narration-core';
import { captureNarration } from '@vramseal/narration-core/testing';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { basicFields, memoryDestination, THIS_PACKAGE } from './helpers.js';

function appLogger(level = 'info') {
  const out = memoryDestination();
  const logger = pino({ level, base: { service: 'inference-api' } }, out);
  return { out, logger };
}

describe('createNarrator({ logger }): writing through an application pino logger', () => {
  it("writes to the application's stream, with its base fields, human as the message", () => {
    const { out, logger } = appLogger();
    const narrator = createNarrator({ actor: 'vram-manager', logger });
    narrator.info({ ...basicFields, worker_id: 'w-1', human: 'Sealed with token=abc123 today.' });
    const [line] = out.lines.map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(line).toMatchObject({
      level: 30,
      service: 'inference-api',
      emitted_by: THIS_PACKAGE,
      actor: 'vram-manager',
      action: 'seal',
      target: 'shard-0',
      worker_id: 'w-1',
      msg: 'Sealed with token=[REDACTED] today.',
    });
    expect(line).not.toHaveProperty('human');
  });

  it("follows the application's level, or the narrator's own level when given", () => {
    const { out, logger } = appLogger('warn');
    const quiet = createNarrator({ actor: 'a', logger });
    quiet.info(basicFields);
    expect(quiet.isLevelEnabled('info')).toBe(false);
    const verbose = createNarrator({ actor: 'a', logger, level: 'debug' });
    verbose.debug(basicFields);
    expect(out.lines).toHaveLength(1);
  });

  it('still sanitises, checks fields and names another actor and child bindings', () => {
    const { out, logger } = appLogger();
    const narrator = createNarrator({ actor: 'a', logger, onInvalid: 'repair' });
    narrator.child({ job_id: 'j-1' }).info({ ...basicFields, actor: 'b\u202e', bogus: 1 } as never);
    const [line] = out.lines.map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(line).toMatchObject({ actor: 'b', job_id: 'j-1', narration_defects: ['invalid:bogus'] });
  });

  it('is seen by captureNarration, as narration would have written it', async () => {
    const { logger } = appLogger();
    const narrator = createNarrator({ actor: 'vram-manager', logger });
    const capture = await captureNarration(() => narrator.warn(basicFields));
    expect(capture.events).toEqual([
      expect.objectContaining({
        level: 'warn',
        actor: 'vram-manager',
        emitted_by: THIS_PACKAGE,
        human: basicFields.human,
      }),
    ]);
  });

  it('refuses options the application logger decides, and anything that is not a pino logger', () => {
    const { logger } = appLogger();
    for (const option of [
      { destination: memoryDestination() },
      { format: 'json' as const },
      { redact: ['context.x'] },
    ]) {
      expect(() => createNarrator({ actor: 'a', logger, ...option })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTION', argument: Object.keys(option)[0] }),
      );
    }
    expect(() => createNarrator({ actor: 'a', logger: console as never })).toThrow(NarrationError);
  });
});
