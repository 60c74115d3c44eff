import { existsSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { run } from './helpers.js';

describe('vramseal demo', () => {
  it('seals, verifies, catches the flipped bit, stops, recovers, and proves the audit log, in under 30 s', () => {
    const started = Date.now();
    const r = run(['demo', '--shards', '3', '--shard-mib', '8']);
    const seconds = (Date.now() - started) / 1000;
    expect(r.code, r.stderr).toBe(0);
    expect(seconds).toBeLessThan(30);
    const out = r.stdout;
    expect(out).toMatch(/^1\. Seal/m);
    expect(out).toMatch(/^demo-model-2 +8\.0 MiB +\d+ +[0-9a-f]{16}… +[0-9a-f]{16}… /m);
    expect(out).toMatch(/^flipped bit [0-7] of byte [\d,]+ of demo-model-1 on device \d+$/m);
    expect(out).toMatch(/^caught: SEAL_VERIFICATION_FAILED \(check tree_root, /m);
    expect(out).toMatch(
      /^manager state: stopped \(cause seal_verification_failed, shard demo-model-1\)$/m,
    );
    expect(out).toContain('a new seal meanwhile: refused with MANAGER_STOPPED');
    expect(out).toMatch(/^audit log .*\/audit: VALID$/m);
    expect(out).toMatch(/checked: +record MACs yes, checkpoint signatures yes/);
    expect(out).toMatch(/ critical +seal_verification_failed +/);
    expect(out).toMatch(/ critical +vram_manager_reset +/);
    expect(out).toMatch(/^audit log .*\/audit-edited: TAMPERED$/m);
    expect(out).toMatch(/error +verify_failed +Shard demo-model-1 failed its tree_root check/);
    expect(out).not.toMatch(/^ {2}NO /m);
    expect(out).toMatch(/^demo passed in [\d.]+ s$/m);
    // The temporary folder is gone unless --keep.
    const dir = /model +3 shard files x 8\.0 MiB of random bytes in (\S+)\/demo-model/.exec(
      out,
    )?.[1];
    expect(dir).toBeDefined();
    expect(existsSync(dir!)).toBe(false);
  });

  it('--json: one document with every claim proven, the tamper caught, and the narration', () => {
    const r = run(['demo', '--shards', '2', '--shard-mib', '1', '--json', '--keep', '--verbose']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    try {
      expect(doc.ok).toBe(true);
      expect(doc.proven).toHaveLength(7);
      expect(doc.proven.every((c: { ok: boolean }) => c.ok)).toBe(true);
      expect(doc.tamper).toMatchObject({
        shardId: 'demo-model-1',
        caught: true,
        code: 'SEAL_VERIFICATION_FAILED',
        check: 'tree_root',
      });
      expect(doc.stopped).toEqual({ state: 'stopped', refusedSeal: 'MANAGER_STOPPED' });
      expect(doc.audit).toMatchObject({
        ok: true,
        macsChecked: true,
        signaturesChecked: true,
        editedCopy: { ok: false, reason: 'mac_mismatch' },
      });
      expect(doc.audit.editedCopy.firstBadSeq).toBe(doc.audit.editedCopy.editedSeq);
      expect(doc.narration.map((e: { action: string }) => e.action)).toContain('verify_failed');
      expect(existsSync(`${doc.dir}/audit`)).toBe(true);
    } finally {
      rmSync(doc.dir, { recursive: true, force: true });
    }
  });
});
