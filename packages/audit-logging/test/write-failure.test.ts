import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { verifyAuditLog } from '@vramseal/audit-logging';
import { afterEach, describe, expect, it } from 'vitest';
import {
  auditKey,
  cleanupTmp,
  openLogger,
  readLines,
  segmentPath,
  TOKEN,
  tmpLogDir,
} from './helpers.js';

afterEach(cleanupTmp);

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const child = fileURLToPath(new URL('./fixtures/full-disk-child.ts', import.meta.url));
const sideChild = fileURLToPath(new URL('./fixtures/side-file-full-child.ts', import.meta.url));

function runLimited(fixture: string, limitKiB: number, ...args: string[]): string {
  // ulimit -f: no file may grow past the limit; the kernel answers EFBIG, as it would ENOSPC.
  const quoted = args.map((a) => `"${a}"`).join(' ');
  const script = `ulimit -f ${limitKiB}; exec "${process.execPath}" --conditions=@vramseal/source --import tsx "${fixture}" ${quoted}`;
  return execFileSync('bash', ['-c', script], { cwd: packageRoot, encoding: 'utf8' });
}

describe('disk refuses writes (file size limit, like a full disk)', () => {
  it('surfaces typed errors on emit and onError, never crashes, loses nothing acknowledged', async () => {
    const dir = tmpLogDir();
    const out = runLimited(child, 8, dir, TOKEN);
    const result = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(result.acked.length).toBeGreaterThan(5);
    expect(result.failure).toMatchObject({
      name: 'AuditWriteError',
      code: 'AUDIT_WRITE_FAILED',
      osCode: 'EFBIG',
      retriable: true,
    });
    expect(result.retry).toMatchObject({ code: 'AUDIT_WRITE_FAILED' });
    expect(result.hookCodes).toEqual(['AUDIT_WRITE_FAILED', 'AUDIT_WRITE_FAILED']);

    // The failed write was rolled back: whole lines only, exactly the acknowledged ones.
    const file = segmentPath(dir);
    expect(fs.readFileSync(file).at(-1)).toBe(10);
    expect(readLines(file).map((l) => JSON.parse(l).seq)).toEqual(result.acked);
    const log = await openLogger(dir);
    expect((await log.emit({ type: 'pool_created', actor: 'a', poolId: 'p' })).seq).toBe(
      result.acked.length + 1,
    );
    await log.close();
    expect(await verifyAuditLog(dir, { key: auditKey })).toMatchObject({
      ok: true,
      events: result.acked.length + 1,
    });
  });

  it('a manifest write cut short is cut back off at once, so a retry cannot bury half a line', async () => {
    const dir = tmpLogDir();
    const result = JSON.parse(runLimited(sideChild, 1, dir, TOKEN).trim().split('\n').at(-1)!);
    expect(result.acked.length).toBeGreaterThanOrEqual(2);
    expect(result.failures.length).toBeGreaterThanOrEqual(1);
    expect(new Set(result.failures)).toEqual(new Set(['AUDIT_WRITE_FAILED']));
    // Right after the failures, before any reopen: whole manifest lines only.
    expect(result.manifest.endsWith('\n')).toBe(true);
    for (const line of result.manifest.trim().split('\n'))
      expect(() => JSON.parse(line)).not.toThrow();
    const log = await openLogger(dir);
    await log.close();
    const report = await verifyAuditLog(dir, { key: auditKey });
    expect(report).toMatchObject({ ok: true, events: result.acked.length });
  });
});
