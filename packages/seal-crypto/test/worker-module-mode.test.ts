import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// The pool's eval workers inherit the parent's --input-type. A consumer running an ES module
// entry with `node --input-type=module` once made every worker die ("require is not defined").
describe('treeDigest workers under node --input-type=module', () => {
  it('digest on worker threads equals the single-thread digest', () => {
    const script = `
      import { treeDigest, treeDigestSync, shutdownTreeDigestPool } from '@vramseal/seal-crypto';
      const data = new Uint8Array(3 << 20).map((_, i) => (i * 7) & 0xff);
      const opts = { leafSize: 4096, inlineBelow: 0, chunkSize: 1 << 20, threads: 2 };
      const parallel = await treeDigest(data, opts);
      const single = treeDigestSync(data, { leafSize: 4096 });
      await shutdownTreeDigestPool();
      console.log(Buffer.compare(parallel.root, single.root) === 0 ? 'same' : 'different');`;
    const out = execFileSync(
      process.execPath,
      ['--conditions=@vramseal/source', '--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: import.meta.dirname, encoding: 'utf8' },
    );
    expect(out.trim()).toBe('same');
  });
});
