import {
  deriveKey,
  encodeSealPayload,
  SealCryptoError,
  sha256,
  treeDigestSync,
} from '@vramseal/seal-crypto';
import { describe, expect, it } from 'vitest';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('did not throw');
}

describe('one error convention', () => {
  it('a wrong argument type is a TypeError and a SealCryptoError, coded and naming the argument', () => {
    const error = thrown(() => sha256('abc' as unknown as Uint8Array));
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toBeInstanceOf(SealCryptoError);
    expect(error).toMatchObject({ name: 'TypeError', code: 'INVALID_ARGUMENT', argument: 'data' });
  });

  it('a wrong argument value is a RangeError and a SealCryptoError, naming the option', () => {
    const error = thrown(() => treeDigestSync(new Uint8Array(1), { leafSize: 100 }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error).toBeInstanceOf(SealCryptoError);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'options.leafSize' });
    expect(thrown(() => encodeSealPayload({} as never))).toMatchObject({
      argument: 'fields.keyId',
    });
  });

  it('a domain error is a SealCryptoError named so, with its code; other errors are not', () => {
    const error = thrown(() => deriveKey('short', 'seal'));
    expect(error).toBeInstanceOf(SealCryptoError);
    expect(error).not.toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ name: 'SealCryptoError', code: 'WEAK_SECRET' });
    expect(new TypeError('x')).not.toBeInstanceOf(SealCryptoError);
    expect(new Error('x')).not.toBeInstanceOf(SealCryptoError);
    expect(null).not.toBeInstanceOf(SealCryptoError);
  });
});
