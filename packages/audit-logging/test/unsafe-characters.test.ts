import fs from 'node:fs';
import path from 'node:path';
import {
  AuditValidationError,
  canonicalJson,
  GENESIS_MAC,
  validateField,
  verifyAuditLog,
} from '@vramseal/audit-logging';
import { hmacSha256 } from '@vramseal/seal-crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { auditKey, cleanupTmp, openLogger, segmentPath, tmpLogDir } from './helpers.js';

afterEach(cleanupTmp);

// The one definition of an unsafe character, shared with @vramseal/narration-core (whose
// sanitizeText neutralises exactly what emit refuses); its own test reads the same file.
interface UnsafeCharacters {
  unicode: string;
  lineBreaking: { codePoints: string[] };
  invisible: { codePoints: string[] };
  safeExamples: string[];
}
const vectors = JSON.parse(
  fs.readFileSync(new URL('../../../testdata/unsafe-characters.json', import.meta.url), 'utf8'),
) as UnsafeCharacters;

function codePoints(ranges: string[]): number[] {
  return ranges.flatMap((range) => {
    const [first, last = first] = range.split('..').map((u) => Number.parseInt(u!.slice(2), 16));
    return Array.from({ length: last! - first! + 1 }, (_, i) => first! + i);
  });
}

const unsafe = new Set([
  ...codePoints(vectors.lineBreaking.codePoints),
  ...codePoints(vectors.invisible.codePoints),
]);

function refused(text: string): boolean {
  try {
    validateField('detail', 'name', text);
    return false;
  } catch (error) {
    if (error instanceof AuditValidationError) return true;
    throw error;
  }
}

describe('text and name fields against testdata/unsafe-characters.json', () => {
  it('the listed examples of safe text are accepted', () => {
    for (const cp of codePoints(vectors.safeExamples)) {
      expect(refused(`a${String.fromCodePoint(cp)}b`), `U+${cp.toString(16)}`).toBe(false);
    }
  });

  it('refuses U+3164 and the other fillers narration-core strips (the two used to disagree)', () => {
    for (const cp of [0x115f, 0x1160, 0x17b4, 0x17b5, 0x3164, 0xffa0, 0xfe0f, 0x034f]) {
      expect(unsafe.has(cp), `U+${cp.toString(16)}`).toBe(true);
      expect(refused(`a${String.fromCodePoint(cp)}b`), `U+${cp.toString(16)}`).toBe(true);
    }
  });

  // The lists are Unicode properties as this Node's Unicode version expands them.
  it.runIf(process.versions.unicode === vectors.unicode)(
    `every code point: refused exactly when listed (Unicode ${vectors.unicode})`,
    () => {
      const wrong: string[] = [];
      for (let cp = 0; cp <= 0x10ffff; cp++) {
        if (refused(`a${String.fromCodePoint(cp)}b`) !== unsafe.has(cp)) {
          wrong.push(`U+${cp.toString(16)}`);
        }
      }
      expect(wrong).toEqual([]);
    },
  );

  it('a record written before the shared definition (U+3164 in a text field) still verifies and reopens', async () => {
    const dir = tmpLogDir();
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const body = {
      seq: 1,
      auditId: '5b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f',
      ts: '2026-01-02T03:04:05.678Z',
      serviceId: 'worker-a',
      event: {
        type: 'vram_sealed',
        shardId: 'shard\u31641',
        gpuDevice: 0,
        vramBytes: 1024,
        digest: 'cd'.repeat(32),
        workerId: 'worker-a',
      },
      prevMac: GENESIS_MAC,
    };
    const mac = Buffer.from(hmacSha256(auditKey, Buffer.from(canonicalJson(body)))).toString('hex');
    fs.writeFileSync(segmentPath(dir), `${canonicalJson({ ...body, mac })}\n`, { mode: 0o600 });
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 1 });
    const log = await openLogger(dir);
    expect(log.size).toBe(1);
    await expect(
      log.emit({ ...body.event, shardId: 'shard\u31642' } as never),
    ).rejects.toBeInstanceOf(AuditValidationError);
    await log.close();
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({ ok: true, events: 1 });
    expect(fs.readdirSync(dir)).toContain(path.basename(segmentPath(dir)));
  });
});
