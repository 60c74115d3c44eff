import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseBackend, proofBundleConfig } from '@vramseal/bdd-world';
import { describe, expect, it } from 'vitest';

describe('proofBundleConfig', () => {
  it('puts the bundle under <root>/.proof_bundle/bdd/<run id> and tells every part of the run the id', () => {
    const env: NodeJS.ProcessEnv = {};
    const config = proofBundleConfig({ root: '/repo', env });
    expect(config.runId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(env.VRAMSEAL_RUN_ID).toBe(config.runId);
    expect(config.dir).toBe(join('/repo', '.proof_bundle', 'bdd', config.runId));
    expect(config.worldParameters).toEqual({ proofBundle: config.dir });
    expect(config.format).toEqual([
      `"message":"${config.dir}/messages.ndjson"`,
      `"html":"${config.dir}/report.html"`,
      `"junit":"${config.dir}/junit.xml"`,
      expect.stringMatching(/^"file:\/\/.*\/index-formatter\.ts":".*\/index\.md"$/),
    ]);
  });

  it('honours VRAMSEAL_RUN_ID and VRAMSEAL_PROOF_DIR', () => {
    const config = proofBundleConfig({
      root: '/repo',
      env: { VRAMSEAL_RUN_ID: 'nightly-42', VRAMSEAL_PROOF_DIR: '/nonexistent-proofs' },
    });
    expect(config.dir).toBe('/nonexistent-proofs/bdd/nightly-42');
  });

  it.each(['..', '../x', 'a/b', '-flag', 'x'.repeat(129), 'run id'])(
    'refuses the run id %j',
    (id) => {
      expect(() => proofBundleConfig({ root: '/repo', env: { VRAMSEAL_RUN_ID: id } })).toThrow(
        /VRAMSEAL_RUN_ID must be/,
      );
    },
  );

  it('replaces an earlier bundle of the same run id, and refuses a folder that is not a bundle', () => {
    const base = mkdtempSync(join(tmpdir(), 'bdd-world-config-'));
    try {
      const stale = join(base, 'bdd', 'again', 'scenarios', 'old');
      mkdirSync(stale, { recursive: true });
      writeFileSync(join(base, 'bdd', 'again', 'index.md'), '# old run\n');
      proofBundleConfig({
        root: '/repo',
        env: { VRAMSEAL_RUN_ID: 'again', VRAMSEAL_PROOF_DIR: base },
      });
      expect(existsSync(stale)).toBe(false);
      const foreign = join(base, 'bdd', 'foreign');
      mkdirSync(foreign, { recursive: true });
      writeFileSync(join(foreign, 'notes.txt'), 'mine\n');
      expect(() =>
        proofBundleConfig({
          root: '/repo',
          env: { VRAMSEAL_RUN_ID: 'foreign', VRAMSEAL_PROOF_DIR: base },
        }),
      ).toThrow(/is not a proof bundle/);
      expect(existsSync(join(foreign, 'notes.txt'))).toBe(true);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('leaves @gpu scenarios out when the run has no CUDA device', () => {
    expect(proofBundleConfig({ root: '/repo', env: {} }).tags).toBe('not @gpu');
  });
});

describe('chooseBackend', () => {
  it('runs on the mock by default and says how to use a GPU', () => {
    expect(chooseBackend({})).toEqual({
      kind: 'mock',
      reason: 'the mock is the default; set VRAMSEAL_BACKEND=cuda to run on a GPU',
    });
  });

  it('falls back to the mock with the reason when cuda is asked for and no device answers', () => {
    const choice = chooseBackend({ VRAMSEAL_BACKEND: 'cuda' });
    // Either outcome is checked for what it must say: this test runs here (no GPU) and on GPU boxes.
    if (choice.kind === 'cuda')
      expect(choice.reason).toMatch(/^VRAMSEAL_BACKEND=cuda: \d+ device\(s\)/);
    else expect(choice.reason).toMatch(/^VRAMSEAL_BACKEND=cuda, but /);
  });

  it('refuses a backend name it does not know', () => {
    expect(() => chooseBackend({ VRAMSEAL_BACKEND: 'gpu' })).toThrow(/must be 'mock' or 'cuda'/);
  });
});
