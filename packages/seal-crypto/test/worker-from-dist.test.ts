import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// Tests and benchmarks run the TypeScript sources; consumers run the compiled JavaScript, where
// the pool starts worker.js directly (no tsx, no export conditions). Compile the package the way
// its build does, into a temporary folder, and digest on worker threads from there.
const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'seal-crypto-dist-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('treeDigest workers from the compiled JavaScript', () => {
  it('digest on worker threads equals the single-thread digest', () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', out], {
      cwd: packageRoot,
      stdio: 'pipe',
    });
    writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');
    const entry = pathToFileURL(join(out, 'index.js')).href;
    const script = `
      import { treeDigest, treeDigestSync, shutdownTreeDigestPool } from ${JSON.stringify(entry)};
      const data = new Uint8Array(3 << 20).map((_, i) => (i * 7) & 0xff);
      const opts = { leafSize: 4096, inlineBelow: 0, chunkSize: 1 << 20, threads: 2 };
      const parallel = await treeDigest(data, opts);
      const single = treeDigestSync(data, { leafSize: 4096 });
      await shutdownTreeDigestPool();
      console.log(Buffer.compare(parallel.root, single.root) === 0 ? 'same' : 'different');`;
    const result = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: out,
      encoding: 'utf8',
    });
    expect(result.trim()).toBe('same');
  });
});
