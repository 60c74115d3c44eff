import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deriveKey, verifySealSignature } from '@vramseal/seal-crypto';
import { describe, expect, it } from 'vitest';
import {
  derivedKeyBytes,
  fieldsOf,
  hasStack,
  makeKeyFile,
  makeModel,
  manifestMacOf,
  type Run,
  replaceWithFifo,
  run,
  runWithToken,
  TOKEN,
  tmp,
} from './helpers.js';

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('vramseal seal', () => {
  it('seals a model directory as a shard set and a file alone; the manifest holds every field, signed, and a MAC over all of it', () => {
    const dir = tmp();
    const files = makeModel(path.join(dir, 'tiny-llama'), [300_000, 1_200_000, 65_536]);
    writeFileSync(path.join(dir, 'tiny-llama', '.hidden'), 'not a weight file');
    mkdirSync(path.join(dir, 'tiny-llama', 'sub'));
    const [single] = makeModel(path.join(dir, 'extra'), [4_096]);
    const r = runWithToken(['seal', 'tiny-llama', 'extra/weights-0.bin', '--manifest', 'm.json'], {
      cwd: dir,
    });
    expect(r.code, r.stderr).toBe(0);
    // The table: one row per shard, with the columns the issue asks for.
    expect(r.stdout).toMatch(
      /^shard +size +device +digest \(sha256\) +tree root +time +throughput$/m,
    );
    for (const id of [
      'tiny-llama-weights-0',
      'tiny-llama-weights-1',
      'tiny-llama-weights-2',
      'weights-0',
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^${id} +\\S+ KiB|^${id} +\\S+ MiB`, 'm'));
    }
    expect(r.stdout).toContain('manifest m.json: 4 shard(s)');

    const manifest = JSON.parse(readFileSync(path.join(dir, 'm.json'), 'utf8'));
    const key = deriveKey(TOKEN, 'seal');
    expect(Object.keys(manifest)).toEqual([
      'format',
      'version',
      'keyId',
      'createdAt',
      'createdBy',
      'backend',
      'shards',
      'mac',
    ]);
    expect(manifest).toMatchObject({
      format: 'vramseal-seal-manifest',
      version: 1,
      keyId: key.id,
      backend: expect.any(String),
    });
    // The MAC is the seal key's HMAC over the bytes the README documents, computed independently.
    expect(manifest.mac).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.mac).toBe(manifestMacOf(manifest));
    expect(manifest.shards.map((s: { file: string }) => s.file)).toEqual([
      'tiny-llama/weights-0.bin',
      'tiny-llama/weights-1.bin',
      'tiny-llama/weights-2.bin',
      'extra/weights-0.bin',
    ]);
    for (const [i, shard] of manifest.shards.entries()) {
      const file = i < 3 ? files[i]! : single!;
      expect(Object.keys(shard).sort()).toEqual([
        'digest',
        'file',
        'gpuDevice',
        'keyId',
        'leafSize',
        'modelRef',
        'sealedAt',
        'shardId',
        'shardIndex',
        'signature',
        'totalShards',
        'treeRoot',
        'vramBytes',
      ]);
      expect(shard.digest).toBe(sha256(file));
      expect(shard.vramBytes).toBe(readFileSync(file).length);
      expect(shard.keyId).toBe(key.id);
      expect(shard.leafSize).toBe(65536);
      // The signature is the seal signature VramManager makes (seal-crypto's payload and HMAC).
      expect(verifySealSignature(key, fieldsOf(shard), Buffer.from(shard.signature, 'hex'))).toBe(
        true,
      );
    }
    expect(
      manifest.shards
        .slice(0, 3)
        .map((s: { shardIndex: number; totalShards: number; modelRef: string }) => [
          s.shardIndex,
          s.totalShards,
          s.modelRef,
        ]),
    ).toEqual([
      [0, 3, 'tiny-llama'],
      [1, 3, 'tiny-llama'],
      [2, 3, 'tiny-llama'],
    ]);
    expect(manifest.shards[3]).toMatchObject({
      shardIndex: 0,
      totalShards: 1,
      modelRef: 'weights-0.bin',
    });
  });

  it('shard ids: the file name without its extension, made unique; a model ref from the directory', () => {
    const dir = tmp();
    mkdirSync(path.join(dir, 'llama 3'));
    writeFileSync(path.join(dir, 'llama 3', 'a.bin'), 'x');
    writeFileSync(path.join(dir, 'llama 3', 'a.json'), 'y');
    writeFileSync(path.join(dir, 'b.safetensors'), 'z');
    const r = runWithToken(['seal', 'llama 3', 'b.safetensors', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const shards = JSON.parse(r.stdout).shards;
    expect(shards.map((s: { shardId: string }) => s.shardId)).toEqual([
      'llama-3-a',
      'llama-3-a-2',
      'b',
    ]);
    expect(shards.map((s: { modelRef: string }) => s.modelRef)).toEqual([
      'llama 3',
      'llama 3',
      'b.safetensors',
    ]);
  });

  it('--json: one document with the manifest path, backend, key id and every shard with its time', () => {
    const dir = tmp();
    makeModel(path.join(dir, 'm'), [100_000, 200_000]);
    const r = runWithToken(['seal', 'm', '--json', '--model-ref', 'org/model@rev1'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.ok).toBe(true);
    expect(doc.manifest).toBe(path.join(dir, 'vramseal-manifest.json'));
    expect(doc.keyId).toBe(deriveKey(TOKEN, 'seal').id);
    expect(doc.shards).toHaveLength(2);
    expect(doc.shards[0]).toMatchObject({
      modelRef: 'org/model@rev1',
      ms: expect.any(Number),
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(r.stderr).toBe(''); // no progress lines with --json
  });

  it('a key file gives the same seal key as loadKeyFile; a key file readable by others is refused with the fix', () => {
    const dir = tmp();
    makeModel(path.join(dir, 'm'), [10_000]);
    const { file, hex } = makeKeyFile(dir);
    const r = run(['seal', 'm', '--key-file', file, '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).keyId).toBe(deriveKey(Buffer.from(hex, 'hex'), 'seal').id);
    expect(r.stdout + r.stderr).not.toContain(hex);

    const loose = path.join(tmp(), 'loose.key');
    writeFileSync(loose, `${hex}\n`, { mode: 0o644 });
    const refused = run(['seal', 'm', '--key-file', loose], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /^vramseal: key file .*loose\.key is readable by group or others.*chmod 600/,
    );
    expect(refused.stdout + refused.stderr).not.toContain(hex);
  });

  it('no key at all is exit 2 naming both ways to give one; a weak token is refused', () => {
    const dir = tmp();
    makeModel(path.join(dir, 'm'), [10_000]);
    const r = run(['seal', 'm'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'vramseal: no seal key was given: pass --key-file <path> (a 32-byte key, mode 0600) or set VRAMSEAL_WORKER_TOKEN to the worker token\n',
    );
    expect(existsSync(path.join(dir, 'vramseal-manifest.json'))).toBe(false);
    const weak = run(['seal', 'm'], {
      cwd: dir,
      env: { VRAMSEAL_WORKER_TOKEN: 'abcabcabcabcabcabcabc' },
    });
    expect(weak.code).toBe(2);
    expect(weak.stderr).toMatch(/VRAMSEAL_WORKER_TOKEN is too weak.*openssl rand -hex 32/);
    expect(weak.stderr).not.toContain('abcabc');
  });

  it('unreadable inputs are exit 2 and write no manifest: a missing file, an empty directory, a device, a FIFO, a missing key file', () => {
    const dir = tmp();
    mkdirSync(path.join(dir, 'empty'));
    writeFileSync(path.join(dir, 'pipe.bin'), '');
    replaceWithFifo(path.join(dir, 'pipe.bin'));
    const cases: [string[], RegExp][] = [
      [['seal', 'missing.bin'], /^vramseal: cannot read missing\.bin \(ENOENT\); check the path/],
      [['seal', 'empty'], /^vramseal: empty holds no files to seal/],
      [['seal', '/dev/null'], /^vramseal: \/dev\/null is neither a regular file nor a directory/],
      // Refused by its type, never opened (opening would block until the run timed out).
      [['seal', 'pipe.bin'], /^vramseal: pipe\.bin is neither a regular file nor a directory/],
      [
        ['seal', 'empty', '--key-file', 'no.key'],
        /^vramseal: cannot read key file no\.key \(ENOENT\)/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = runWithToken(args, { cwd: dir, timeoutMs: 20_000 });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(hasStack(r.stderr)).toBe(false);
    }
    expect(existsSync(path.join(dir, 'vramseal-manifest.json'))).toBe(false);
  });

  it('a manifest outside the folder of the files is refused before anything is sealed (exit 2)', () => {
    const dir = tmp();
    makeModel(path.join(dir, 'm'), [10_000]);
    mkdirSync(path.join(dir, 'out'));
    const r = runWithToken(['seal', 'm', '--manifest', 'out/m.json'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'vramseal: --manifest out/m.json would name m/weights-0.bin as "../m/weights-0.bin", outside the manifest\'s folder, and verify reads only files inside it; write the manifest into a folder that holds every file (e.g. --manifest m.json in the folder above the model)\n',
    );
    expect(existsSync(path.join(dir, 'out', 'm.json'))).toBe(false);
    const inside = runWithToken(['seal', 'm/weights-0.bin', '--manifest', 'm/m.json'], {
      cwd: dir,
    });
    expect(inside.code, inside.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'm', 'm.json'), 'utf8'));
    expect(manifest.shards[0].file).toBe('weights-0.bin');
  });

  it('--expect-sha256: the right digest seals, another is exit 1 (integrity), a malformed one exit 2', () => {
    const dir = tmp();
    const [file] = makeModel(path.join(dir, 'm'), [70_000]);
    const good = runWithToken(['seal', file!, '--expect-sha256', sha256(file!).toUpperCase()], {
      cwd: dir,
    });
    expect(good.code, good.stderr).toBe(0);

    const other = createHash('sha256').update('other bytes').digest('hex');
    const bad = runWithToken(['seal', file!, '--expect-sha256', other, '--manifest', 'bad.json'], {
      cwd: dir,
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^vramseal: shard weights-0: the bytes read from .* have SHA-256 [0-9a-f]{64}, not the expected [0-9a-f]{64}; no seal was made$/m,
    );
    expect(existsSync(path.join(dir, 'bad.json'))).toBe(false);

    const malformed = runWithToken(['seal', file!, '--expect-sha256', 'abc123'], { cwd: dir });
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/--expect-sha256 is not a SHA-256 digest/);

    makeModel(path.join(dir, 'two'), [10, 20]);
    const two = runWithToken(['seal', 'two', '--expect-sha256', other], { cwd: dir });
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/--expect-sha256 is one file's digest, but 2 files were named/);
  });

  it('plain progress lines on stderr when it is not a terminal (no bar escapes)', () => {
    const dir = tmp();
    makeModel(path.join(dir, 'm'), [9 * 1024 * 1024]);
    const r = runWithToken(['seal', 'm'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('sealing m/weights-0.bin (9.0 MiB)\n');
    expect(r.stdout).not.toContain('\u001b[');
  });

  it('neither the token nor the key material nor the derived seal and audit keys reach any output, manifest or audit file', () => {
    const dir = tmp();
    makeModel(path.join(dir, 'm'), [50_000, 20_000]);
    const { file: keyFile, hex } = makeKeyFile(dir);
    const outputs: string[] = [];
    const keep = (r: Run) => {
      expect(r.code, r.stderr).toBe(0);
      outputs.push(r.stdout, r.stderr);
      return r;
    };
    // The token: seal and verify, text and --json, narration on stderr (--verbose).
    const tokenRun = keep(
      runWithToken(['seal', 'm', '--json', '--verbose', '--audit-dir', 'audit'], { cwd: dir }),
    );
    expect(tokenRun.stderr).toMatch(/info +seal +Sealed shard m-weights-0/);
    keep(runWithToken(['seal', 'm', '--verbose', '--audit-dir', 'audit'], { cwd: dir }));
    for (const extra of [['--json', '--verbose'], ['--verbose']]) {
      keep(
        runWithToken(['verify', 'vramseal-manifest.json', '--audit-dir', 'audit', ...extra], {
          cwd: dir,
        }),
      );
    }
    keep(runWithToken(['audit', 'verify', 'audit'], { cwd: dir }));
    // A key file: its 32 bytes of material, and the keys derived from them.
    const manifest = ['--manifest', 'k.json'];
    keep(
      run(
        [
          'seal',
          'm',
          '--json',
          '--verbose',
          '--key-file',
          keyFile,
          '--audit-dir',
          'audit-k',
          ...manifest,
        ],
        { cwd: dir },
      ),
    );
    keep(
      run(['verify', 'k.json', '--verbose', '--key-file', keyFile, '--audit-dir', 'audit-k'], {
        cwd: dir,
      }),
    );
    keep(run(['audit', 'verify', 'audit-k', '--key-file', keyFile], { cwd: dir }));

    const files = ['vramseal-manifest.json', 'k.json']
      .map((f) => path.join(dir, f))
      .concat(
        ['audit', 'audit-k'].flatMap((d) =>
          readdirSync(path.join(dir, d)).map((f) => path.join(dir, d, f)),
        ),
      );
    expect(files.length).toBeGreaterThan(4);
    const texts = [...outputs, ...files.map((f) => readFileSync(f, 'utf8'))];

    const material = Buffer.from(hex, 'hex');
    const secrets: [string, Buffer][] = [
      ['token', Buffer.from(TOKEN)],
      ['key file material', material],
    ];
    for (const [source, secret] of [
      ['token', TOKEN],
      ['key file', material],
    ] as const) {
      for (const purpose of ['seal', 'audit'] as const) {
        const key = derivedKeyBytes(secret, purpose);
        // The needle is the real key: its id (first 8 bytes of SHA-256 of the key) is deriveKey's.
        expect(createHash('sha256').update(key).digest('hex').slice(0, 16)).toBe(
          deriveKey(secret, purpose).id,
        );
        secrets.push([`${purpose} key from the ${source}`, key]);
      }
    }
    for (const [name, bytes] of secrets) {
      const needles = [
        bytes.toString('hex'),
        bytes.toString('hex').toUpperCase(),
        bytes.toString('base64'),
        bytes.toString('base64url'),
      ];
      if (name === 'token') needles.push(TOKEN);
      for (const text of texts) {
        for (const needle of needles)
          expect(text.includes(needle), `${name} (${needle.slice(0, 6)}…)`).toBe(false);
      }
    }
  });
});

describe('vramseal seal: an error names the flag or input that caused it, and comes before any work', () => {
  /** Exit 2, exactly one line on stderr (no `sealing` progress line), no manifest, no audit log. */
  function refused(dir: string, args: string[], message: string | RegExp): void {
    const r = runWithToken(['seal', ...args, '--audit-dir', 'audit'], { cwd: dir });
    expect(r.code, args.join(' ')).toBe(2);
    if (typeof message === 'string') expect(r.stderr, args.join(' ')).toBe(`${message}\n`);
    else expect(r.stderr, args.join(' ')).toMatch(message);
    expect(r.stderr.split('\n'), args.join(' ')).toHaveLength(2);
    expect(r.stderr, args.join(' ')).not.toMatch(/options\.|workerId|serviceId|event field/);
    expect(r.stdout).toBe('');
    expect(existsSync(path.join(dir, 'vramseal-manifest.json'))).toBe(false);
  }

  it('--device out of range names --device, the device count and `vramseal devices`; nothing is opened', () => {
    const dir = tmp();
    makeModel(path.join(dir, 'm'), [9 * 1024 * 1024]);
    const count = JSON.parse(run(['devices', '--json']).stdout).devices.length as number;
    refused(
      dir,
      ['m', '--device', String(count)],
      `vramseal: --device ${count} is not a device of this machine: the ${JSON.parse(run(['devices', '--json']).stdout).backend.kind} backend has ${count} device(s), ${count === 1 ? 'index 0' : `indexes 0 to ${count - 1}`}; give --device auto or one of those (\`vramseal devices\` lists them)`,
    );
    expect(existsSync(path.join(dir, 'audit'))).toBe(false);
  });

  it('--worker-id that is not an id, or looks like a credential, names --worker-id and never echoes the credential', () => {
    const dir = tmp();
    makeModel(path.join(dir, 'm'), [10_000]);
    refused(
      dir,
      ['m', '--worker-id', 'bad id!'],
      "vramseal: option '--worker-id <id>' argument 'bad id!' is invalid: give 1 to 256 characters of A-Z a-z 0-9 . _ : - (a host or pod name), or leave --worker-id out to use this host's name; run `vramseal seal --help` for the usage",
    );
    const token = `ghp_${'a1B2c3D4e5'.repeat(4)}`;
    refused(
      dir,
      ['m', '--worker-id', token],
      "vramseal: option '--worker-id <id>' argument '[REDACTED]' is invalid: it looks like a credential (a token or key), and it would be written into every audit record; give a host or pod name, or leave --worker-id out to use this host's name; run `vramseal seal --help` for the usage",
    );
    expect(existsSync(path.join(dir, 'audit'))).toBe(false);
  });

  it('a model ref the manager refuses names --model-ref, or the directory it was taken from; no progress line claims an upload began', () => {
    const dir = tmp();
    makeModel(path.join(dir, 'm'), [9 * 1024 * 1024]);
    refused(
      dir,
      ['m', '--model-ref', 'password=hunter2hunter2'],
      'vramseal: --model-ref looks like it holds a credential (a token, key or password); it would be signed into the seal and written to the audit log and narration as given: use the model\'s name, e.g. "org/model@rev" without it',
    );
    refused(
      dir,
      ['m', '--model-ref', 'llama\u001b[2J'],
      /^vramseal: --model-ref contains the forbidden character U\+001B at index 5 \(control, escape, bidi, zero-width or other invisible characters could forge or hide log lines\); give printable text of at most 1024 bytes, such as "meta-llama\/Llama-3-8B@main"\n$/,
    );
    makeModel(path.join(dir, 'n\u0001x'), [10_000]);
    refused(
      dir,
      ['n\u0001x'],
      /^vramseal: the model ref taken from the directory name of "n\\u0001x" contains the forbidden character U\+0001 at index 1 .*; rename it, or give a model ref with --model-ref <ref>\n$/,
    );
  });

  it('a file name that makes a credential-like shard id names the file; an empty file is refused before anything is sealed', () => {
    const dir = tmp();
    mkdirSync(path.join(dir, 'm'));
    writeFileSync(path.join(dir, 'm', 'AKIAIOSFODNN7EXAMPLE.bin'), 'weights');
    refused(
      dir,
      ['m'],
      'vramseal: the shard id made from the name of m/AKIAIOSFODNN7EXAMPLE.bin looks like it holds a credential (a token, key or password); it would be signed into the seal and written to the audit log and narration as given: use an opaque id without it; rename the file',
    );
    makeModel(path.join(dir, 'e'), [9 * 1024 * 1024]);
    writeFileSync(path.join(dir, 'e', 'zz-empty.bin'), '');
    refused(
      dir,
      ['e'],
      'vramseal: e/zz-empty.bin is empty (0 bytes), and a shard holds at least one byte; remove it, or name other files',
    );
    // The shard id is the manager's to refuse, after the audit log was opened: it holds no record.
    const audit = path.join(dir, 'audit');
    for (const name of readdirSync(audit).filter((f) => f.startsWith('segment-'))) {
      expect(readFileSync(path.join(audit, name), 'utf8'), name).toBe('');
    }
  });
});
