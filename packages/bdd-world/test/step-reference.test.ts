import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script, no type declarations
import { expressionRegExp } from '../scripts/step-reference.mjs';

const run = promisify(execFile);
const script = join(import.meta.dirname, '..', 'scripts', 'step-reference.mjs');

describe('the README step reference', () => {
  it('lists every registered step with a scenario that uses it, and is up to date', async () => {
    const { stdout, stderr } = await run(process.execPath, [script, '--check']).catch(
      (error: { stdout: string; stderr: string }) => error,
    );
    expect(stderr, stdout).toBe('');
  });
});

describe('expressionRegExp', () => {
  it('matches the parameter types and optional text the steps use', () => {
    const seal = expressionRegExp('shard {string} of {int} MiB is sealed on device {int}');
    expect(seal.test('shard "a b" of 64 MiB is sealed on device 1')).toBe(true);
    expect(seal.test("shard 'a' of 64 MiB is sealed on device 1")).toBe(true);
    expect(seal.test('shard "a" of many MiB is sealed on device 1')).toBe(false);
    expect(seal.test('shard "a" of 64 MiB is sealed on device 1 twice')).toBe(false);
    const plural = expressionRegExp('{int} shard(s) is/are resident');
    expect(plural.test('1 shard is resident')).toBe(true);
    expect(plural.test('4 shards are resident')).toBe(true);
    expect(plural.test('4 shards were resident')).toBe(false);
    expect(expressionRegExp('the manager is {word}').test('the manager is stopped')).toBe(true);
  });
});
