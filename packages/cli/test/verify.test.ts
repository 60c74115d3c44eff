import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deriveKey, signSeal } from '@vramseal/seal-crypto';
import { describe, expect, it } from 'vitest';
import {
  fieldsOf,
  hasStack,
  type ManifestJson,
  makeKeyFile,
  makeModel,
  manifestMacOf,
  replaceWithFifo,
  run,
  runWithToken,
  TOKEN,
  tmp,
} from './helpers.js';

/** A sealed model directory `m` (three shards) and a lone file, with the manifest m.json. */
function sealed(
  env: Record<string, string> = { VRAMSEAL_WORKER_TOKEN: TOKEN },
  extra: string[] = [],
) {
  const dir = tmp();
  const files = makeModel(path.join(dir, 'm'), [200_000, 1_000_000, 70_000]);
  const r = run(['seal', 'm', '--manifest', 'm.json', ...extra], { cwd: dir, env });
  expect(r.code, r.stderr).toBe(0);
  const manifestFile = path.join(dir, 'm.json');
  return {
    dir,
    files,
    manifestFile,
    manifest: () => JSON.parse(readFileSync(manifestFile, 'utf8')),
  };
}

function flipBit(file: string, offset: number): void {
  const bytes = readFileSync(file);
  bytes[offset]! ^= 0x01;
  writeFileSync(file, bytes);
}

function rewrite(
  file: string,
  edit: (manifest: { shards: Record<string, unknown>[] } & Record<string, unknown>) => void,
) {
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  edit(manifest);
  writeFileSync(file, JSON.stringify(manifest, null, 2));
}

/** An edit made by someone who holds the seal key: the manifest MAC is computed again. */
function rewriteWithKey(file: string, edit: (manifest: ManifestJson) => void) {
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as ManifestJson;
  edit(manifest);
  manifest.mac = manifestMacOf(manifest);
  writeFileSync(file, JSON.stringify(manifest, null, 2));
}

const EDITED =
  /^vramseal: TAMPERED: manifest m\.json was edited after sealing \(its "mac" is not the seal key's MAC of its contents\); no file was checked: /;

describe('vramseal verify', () => {
  it('exit 0 when every file matches; the table names each shard; --deep too', () => {
    const { dir } = sealed();
    const r = runWithToken(['verify', 'm.json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^m-weights-1 +m\/weights-1\.bin +ok +signature, digest, tree root +/m,
    );
    expect(r.stdout).toMatch(/^OK: 3 shard\(s\) match manifest m\.json/m);
    const deep = runWithToken(['verify', 'm.json', '--deep', '--json'], { cwd: dir });
    expect(deep.code, deep.stderr).toBe(0);
    const doc = JSON.parse(deep.stdout);
    expect(doc).toMatchObject({ ok: true, exitCode: 0, deep: true });
    expect(doc.shards.map((s: { status: string }) => s.status)).toEqual(['ok', 'ok', 'ok']);
  });

  it('a key file seals and verifies; another key is exit 2 naming both key ids', () => {
    const keyDir = tmp();
    const { file } = makeKeyFile(keyDir);
    const { dir } = sealed({}, ['--key-file', file]);
    expect(run(['verify', 'm.json', '--key-file', file], { cwd: dir }).code).toBe(0);
    const r = runWithToken(['verify', 'm.json'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^vramseal: manifest m\.json was sealed with key [0-9a-f]{16}, but \$VRAMSEAL_WORKER_TOKEN gives key [0-9a-f]{16}; pass the key it was sealed with\n$/,
    );
  });

  it('one flipped bit in a weight file is exit 1 naming the shard and the check; --json says the same', () => {
    const { dir, files } = sealed();
    flipBit(files[1]!, 777_777);
    const r = runWithToken(['verify', 'm.json'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^m-weights-1 +m\/weights-1\.bin +MISMATCH +digest /m);
    expect(r.stdout).toMatch(/^m-weights-0 +m\/weights-0\.bin +ok /m);
    expect(r.stdout).toMatch(/^TAMPERED: 1 of 3 shard\(s\) do not match manifest m\.json$/m);
    expect(r.stdout).toContain(
      'm-weights-1: m/weights-1.bin has another SHA-256 than the one sealed',
    );
    const doc = JSON.parse(runWithToken(['verify', 'm.json', '--json'], { cwd: dir }).stdout);
    expect(doc.ok).toBe(false);
    expect(doc.exitCode).toBe(1);
    expect(doc.shards[1]).toMatchObject({
      shardId: 'm-weights-1',
      status: 'mismatch',
      check: 'digest',
      code: 'INTEGRITY_VIOLATION',
    });
  });

  it('the re-seal is audited: a tampered file leaves a critical integrity_violation in --audit-dir', () => {
    const { dir, files } = sealed();
    flipBit(files[0]!, 5);
    expect(runWithToken(['verify', 'm.json', '--audit-dir', 'audit'], { cwd: dir }).code).toBe(1);
    const tail = runWithToken(['audit', 'tail', 'audit', '--json'], { cwd: dir });
    const types = JSON.parse(tail.stdout).records.map((r: { type: string }) => r.type);
    expect(types).toContain('integrity_violation');
    expect(runWithToken(['audit', 'verify', 'audit'], { cwd: dir }).code).toBe(0);
  });

  it('a file of another size is a size mismatch (exit 1); a missing or unreadable file is exit 2', () => {
    const { dir, files } = sealed();
    writeFileSync(files[2]!, readFileSync(files[2]!).subarray(0, 69_999));
    const truncated = runWithToken(['verify', 'm.json', '--json'], { cwd: dir });
    expect(truncated.code).toBe(1);
    expect(JSON.parse(truncated.stdout).shards[2]).toMatchObject({
      status: 'mismatch',
      check: 'size',
    });

    const other = sealed();
    rmSync(other.files[0]!);
    const missing = runWithToken(['verify', 'm.json'], { cwd: other.dir });
    expect(missing.code).toBe(2);
    expect(missing.stdout).toMatch(/^m-weights-0 +m\/weights-0\.bin +ERROR /m);
    expect(missing.stdout).toContain('cannot read m/weights-0.bin (ENOENT)');
    expect(hasStack(missing.stdout + missing.stderr)).toBe(false);

    // Unreadable as root too (no file mode involved): a directory where a weight file was, and a
    // FIFO (refused by its type, never opened: opening it would block, and the run would time out).
    rmSync(other.files[1]!);
    mkdirSync(other.files[1]!);
    replaceWithFifo(other.files[2]!);
    const unreadable = runWithToken(['verify', 'm.json', '--json'], {
      cwd: other.dir,
      timeoutMs: 20_000,
    });
    expect(unreadable.code).toBe(2);
    expect(JSON.parse(unreadable.stdout).shards).toMatchObject([
      { status: 'error', code: 'UNREADABLE_INPUT', detail: expect.stringContaining('ENOENT') },
      {
        status: 'error',
        code: 'UNREADABLE_INPUT',
        detail: 'm/weights-1.bin is not a regular file',
      },
      {
        status: 'error',
        code: 'UNREADABLE_INPUT',
        detail: 'm/weights-2.bin is not a regular file',
      },
    ]);
  });

  it('a proven mismatch outranks an unreadable file: exit 1', () => {
    const { dir, files } = sealed();
    rmSync(files[0]!);
    flipBit(files[1]!, 0);
    expect(runWithToken(['verify', 'm.json'], { cwd: dir }).code).toBe(1);
  });

  it('a manifest pointed at a clean copy of a tampered file is exit 1: the MAC covers every file path', () => {
    const { dir, files, manifestFile } = sealed();
    writeFileSync(path.join(dir, 'clean-copy.bin'), readFileSync(files[1]!));
    flipBit(files[1]!, 4_242);
    rewrite(manifestFile, (m) => (m.shards[1]!.file = 'clean-copy.bin'));
    const r = runWithToken(['verify', 'm.json'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(EDITED);
    const doc = JSON.parse(runWithToken(['verify', 'm.json', '--json'], { cwd: dir }).stdout);
    expect(doc).toEqual({
      ok: false,
      exitCode: 1,
      error: { code: 'MANIFEST_EDITED', message: expect.stringMatching(/^TAMPERED: /) },
    });
  });

  it('a member rolled back to the entry and file of another manifest of the same key is exit 1', () => {
    const { dir, files, manifestFile } = sealed();
    const older = sealed();
    // The older member's file and entry are both genuine: its own signature and digest match, and
    // the set is whole. Only the manifest MAC says this list is not the one that was sealed.
    writeFileSync(files[1]!, readFileSync(older.files[1]!));
    rewrite(manifestFile, (m) => (m.shards[1] = older.manifest().shards[1]));
    const r = runWithToken(['verify', 'm.json'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(EDITED);
  });

  it('any other edit of the manifest is exit 1 before a file is checked: an entry field, an entry dropped or moved, a top-level field', () => {
    const edits: [
      string,
      (m: { shards: Record<string, unknown>[] } & Record<string, unknown>) => void,
    ][] = [
      ['treeRoot', (m) => (m.shards[0]!.treeRoot = '0'.repeat(64))],
      ['modelRef', (m) => (m.shards[0]!.modelRef = 'another/model')],
      ['sealedAt', (m) => (m.shards[0]!.sealedAt = (m.shards[0]!.sealedAt as number) + 1)],
      ['signature', (m) => (m.shards[2]!.signature = m.shards[1]!.signature)],
      ['dropped', (m) => m.shards.splice(1, 1)],
      ['moved', (m) => m.shards.reverse()],
      ['createdBy', (m) => (m.createdBy = 'someone else')],
      ['backend', (m) => (m.backend = m.backend === 'mock' ? 'cuda' : 'mock')],
      ['mac', (m) => (m.mac = '0'.repeat(64))],
    ];
    const { dir, manifestFile } = sealed();
    const original = readFileSync(manifestFile, 'utf8');
    for (const [name, edit] of edits) {
      writeFileSync(manifestFile, original);
      rewrite(manifestFile, edit);
      const r = runWithToken(['verify', 'm.json'], { cwd: dir });
      expect(r.code, name).toBe(1);
      expect(r.stderr, name).toMatch(EDITED);
      expect(r.stdout, name).toBe('');
    }
    writeFileSync(manifestFile, original);
    expect(runWithToken(['verify', 'm.json'], { cwd: dir }).code).toBe(0);
  });

  it('under a valid MAC (rewritten by a holder of the seal key) an edited entry still fails its own signature (exit 1)', () => {
    const { dir, manifestFile } = sealed();
    rewriteWithKey(manifestFile, (m) => (m.shards[0]!.treeRoot = '0'.repeat(64)));
    const r = runWithToken(['verify', 'm.json', '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).shards[0]).toMatchObject({
      status: 'mismatch',
      check: 'signature',
    });
  });

  it('absolute paths and paths that leave the manifest folder are exit 2 even under a valid MAC', () => {
    const { dir, files, manifestFile } = sealed();
    const original = readFileSync(manifestFile, 'utf8');
    const outside = path.join(tmp(), 'weights-0.bin');
    writeFileSync(outside, readFileSync(files[0]!));
    const cases: [string, string][] = [
      [outside, 'is an absolute path'],
      [path.relative(dir, outside), "has a '..' part: it can leave the manifest's folder"],
      ['m/../../x.bin', "has a '..' part: it can leave the manifest's folder"],
    ];
    for (const [file, problem] of cases) {
      writeFileSync(manifestFile, original);
      rewriteWithKey(manifestFile, (m) => (m.shards[0]!.file = file));
      const r = runWithToken(['verify', 'm.json'], { cwd: dir });
      expect(r.code, file).toBe(2);
      expect(r.stderr, file).toBe(
        `vramseal: manifest m.json: shards[0].file ${JSON.stringify(file)} ${problem}, and verify reads only files inside the manifest's folder; seal the model again with the manifest in a folder that holds every file\n`,
      );
      expect(r.stdout, file).toBe('');
    }
  });

  it('manifest errors are exit 2 with what is wrong: not JSON, another format or version, a missing or unknown field, a repeated id', () => {
    const cases: [
      (m: { shards: Record<string, unknown>[] } & Record<string, unknown>) => void,
      RegExp,
    ][] = [
      [(m) => (m.format = 'something-else'), /"format" is not "vramseal-seal-manifest"/],
      [(m) => (m.version = 2), /"version" 2 is not 1/],
      [(m) => delete m.shards[0]!.digest, /shards\[0\]\.digest is missing/],
      [(m) => (m.shards[1]!.leafSize = 1000), /shards\[1\]\.leafSize is not a power of two/],
      [(m) => (m.shards[0]!.extra = 1), /shards\[0\] has an unknown field "extra"/],
      [
        (m) => (m.shards[2]!.shardId = m.shards[0]!.shardId),
        /shards\[2\]\.shardId repeats an earlier one/,
      ],
      [(m) => (m.shards = []), /"shards" is not a non-empty list/],
      [(m) => delete m.mac, /"mac" is not 64 lowercase hex characters/],
      [(m) => (m.keyId = 'KEY'), /"keyId" is not 16 lowercase hex characters/],
      [
        (m) => (m.shards[1]!.keyId = '0123456789abcdef'),
        /shards\[1\]\.keyId is not the manifest's "keyId"/,
      ],
      [
        (m) => (m.shards[0]!.vramBytes = 0),
        /shards\[0\]\.vramBytes is not a byte count of at least 1/,
      ],
      [
        (m) => (m.shards[0]!.file = 'm/\ud800.bin'),
        /shards\[0\]\.file is not a non-empty file path/,
      ],
    ];
    const { dir, manifestFile } = sealed();
    const original = readFileSync(manifestFile, 'utf8');
    for (const [edit, message] of cases) {
      writeFileSync(manifestFile, original);
      rewrite(manifestFile, edit);
      const r = runWithToken(['verify', 'm.json'], { cwd: dir });
      expect(r.code, String(message)).toBe(2);
      expect(r.stderr, String(message)).toMatch(
        /^vramseal: manifest m\.json is not a usable seal manifest: /,
      );
      expect(r.stderr, String(message)).toMatch(message);
      expect(r.stderr).toMatch(/pass a manifest written by `vramseal seal`, unedited\n$/);
    }
    writeFileSync(manifestFile, '{"format": "vramseal-seal-manifest", ');
    const broken = runWithToken(['verify', 'm.json', '--json'], { cwd: dir });
    expect(broken.code).toBe(2);
    expect(JSON.parse(broken.stdout).error).toMatchObject({
      code: 'BAD_MANIFEST',
      message: expect.stringContaining('it is not JSON'),
    });
  });

  it('--device out of range is exit 2 naming --device before any file is read; a manifest value the manager refuses names its field', () => {
    const { dir, manifestFile } = sealed();
    const r = runWithToken(['verify', 'm.json', '--device', '64'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^vramseal: --device 64 is not a device of this machine: the \w+ backend has \d+ device\(s\), (index 0|indexes 0 to \d+); give --device auto or one of those \(`vramseal devices` lists them\)\n$/,
    );
    expect(r.stdout).toBe('');

    // Written by a holder of the seal key: it parses and its MAC holds, but the manager refuses it.
    rewriteWithKey(manifestFile, (m) => {
      for (const shard of m.shards) {
        shard.modelRef = 'password=hunter2hunter2';
        shard.signature = Buffer.from(signSeal(deriveKey(TOKEN, 'seal'), fieldsOf(shard))).toString(
          'hex',
        );
      }
    });
    const refused = runWithToken(['verify', 'm.json', '--json'], { cwd: dir });
    expect(refused.code).toBe(2);
    const row = JSON.parse(refused.stdout).shards[0];
    expect(row).toMatchObject({ status: 'error', code: 'INVALID_INPUT' });
    expect(row.detail).toBe(
      'shards[0].modelRef of manifest m.json looks like it holds a credential (a token, key or password); it would be signed into the seal and written to the audit log and narration as given: use the model\'s name, e.g. "org/model@rev" without it; seal the model again',
    );
  });

  it('a missing key is exit 2 before any weight file is opened (each one is a FIFO that would block)', () => {
    const { dir, files } = sealed();
    for (const file of files) replaceWithFifo(file);
    const r = run(['verify', 'm.json'], { cwd: dir, timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'vramseal: no seal key was given: pass --key-file <path> (a 32-byte key, mode 0600) or set VRAMSEAL_WORKER_TOKEN to the worker token\n',
    );
    expect(r.stdout).toBe('');
  });
});
