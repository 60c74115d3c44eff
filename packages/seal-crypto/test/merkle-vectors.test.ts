import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyConsistency, verifyInclusion } from '@vramseal/seal-crypto';
import { describe, expect, it } from 'vitest';

// Every file of transparency-dev/merkle's RFC 6962 conformance data, walked from disk: happy paths
// must verify, every wantErr case must be rejected.

const root = fileURLToPath(new URL('./vectors/rfc6962/', import.meta.url));

interface InclusionCase {
  leafIdx: number | bigint;
  treeSize: number | bigint;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}
interface ConsistencyCase {
  size1: number | bigint;
  size2: number | bigint;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

function jsonFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return jsonFilesUnder(path);
    return entry.name.endsWith('.json') ? [path] : [];
  });
}

/**
 * JSON numbers beyond 2^53 (the vectors use 2^64 - 1 for "index - 1" of index 0) would lose
 * precision in JSON.parse, so integers of 16+ digits are read as bigint.
 */
function parseExact<T>(path: string): T {
  const text = readFileSync(path, 'utf8').replace(/:\s*(\d{16,})\s*([,}])/g, ': "big:$1"$2');
  return JSON.parse(text, (_key, value) =>
    typeof value === 'string' && value.startsWith('big:') ? BigInt(value.slice(4)) : value,
  ) as T;
}

function b64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'));
}

function proofOf(proof: string[] | null): Uint8Array[] {
  return (proof ?? []).map(b64);
}

const inclusionFiles = jsonFilesUnder(join(root, 'inclusion'));
const consistencyFiles = jsonFilesUnder(join(root, 'consistency'));

describe('RFC 6962 conformance vectors (transparency-dev/merkle testdata)', () => {
  it('finds the whole corpus on disk (98 inclusion and 98 consistency files)', () => {
    expect(inclusionFiles.length).toBe(98);
    expect(consistencyFiles.length).toBe(98);
  });

  describe('inclusion', () => {
    for (const file of inclusionFiles) {
      const name = relative(root, file);
      it(name, () => {
        const c = parseExact<InclusionCase>(file);
        const ok = verifyInclusion(
          b64(c.leafHash),
          c.leafIdx,
          c.treeSize,
          proofOf(c.proof),
          b64(c.root),
        );
        expect(ok, `${c.desc}: wantErr=${c.wantErr}`).toBe(!c.wantErr);
      });
    }
  });

  describe('consistency', () => {
    for (const file of consistencyFiles) {
      const name = relative(root, file);
      it(name, () => {
        const c = parseExact<ConsistencyCase>(file);
        const ok = verifyConsistency(
          c.size1,
          c.size2,
          proofOf(c.proof),
          b64(c.root1),
          b64(c.root2),
        );
        expect(ok, `${c.desc}: wantErr=${c.wantErr}`).toBe(!c.wantErr);
      });
    }
  });
});
