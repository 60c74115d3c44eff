import { flipBit, randomBytes, tamperField } from '@vramseal/bdd-world';
import { describe, expect, it } from 'vitest';

describe('flipBit', () => {
  it('changes exactly one bit of a copy and leaves the input alone', () => {
    const input = new Uint8Array([0b1010_0000, 0xff]);
    const out = flipBit(input, 9);
    expect(Array.from(out)).toEqual([0b1010_0000, 0xfd]);
    expect(Array.from(input)).toEqual([0b1010_0000, 0xff]);
  });

  it('refuses a bit outside the value', () => {
    expect(() => flipBit(new Uint8Array(2), 16)).toThrow(RangeError);
    expect(() => flipBit(new Uint8Array(2), -1)).toThrow(/outside the 2-byte value/);
  });
});

describe('tamperField', () => {
  const fields = { shardId: 'shard-0', device: 0, size: 10n, digest: new Uint8Array(32) };

  it.each(Object.keys(fields))('changes %s and nothing else', (name) => {
    const tampered = tamperField(fields, name);
    for (const [key, value] of Object.entries(fields)) {
      const after = (tampered as Record<string, unknown>)[key];
      if (key === name) expect(after).not.toEqual(value);
      else expect(after).toBe(value);
    }
  });

  it('refuses a field that does not exist, so a scenario cannot tamper with nothing', () => {
    expect(() => tamperField(fields, 'shardID')).toThrow(/no such field/);
  });

  it('refuses a type it cannot change minimally', () => {
    expect(() => tamperField({ flag: true }, 'flag')).toThrow(/unsupported type boolean/);
  });
});

describe('randomBytes', () => {
  it('returns fresh bytes of the asked length', () => {
    const a = randomBytes(64);
    const b = randomBytes(64);
    expect(a).toHaveLength(64);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });
});

describe('tamperField on hex strings', () => {
  it('keeps a hex key id hex, so the tampered value is well-formed', () => {
    const tampered = tamperField({ keyId: '0123456789abcdef' }, 'keyId');
    expect(tampered.keyId).toBe('0123456789abcde0');
  });
});

describe('tamperField on numbers', () => {
  it('doubles a power of two, so a leaf size stays a valid leaf size', () => {
    expect(tamperField({ leafSize: 65536 }, 'leafSize').leafSize).toBe(131072);
  });
  it('increments other numbers', () => {
    expect(tamperField({ device: 0, n: 6 }, 'device').device).toBe(1);
    expect(tamperField({ device: 0, n: 6 }, 'n').n).toBe(7);
  });
});
