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

describe('disk refuses writes (file size limit, like a full disk)', () => {
  it('surfaces typed errors on emit and onError, never crashes, loses nothing acknowledged', async () => {
    const dir = tmpLogDir();
    // ulimit -f 8: no file may grow past 8 KiB; the kernel answers EFBIG, as it would ENOSPC.
    const script = `ulimit -f 8; exec "${process.execPath}" --conditions=@vramseal/source --import tsx "${child}" "${dir}" "${TOKEN}"`;
    const out = execFileSync('bash', ['-c', script], { cwd: packageRoot, encoding: 'utf8' });
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
});
