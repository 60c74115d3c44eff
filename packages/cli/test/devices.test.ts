import { describe, expect, it } from 'vitest';
import { run } from './helpers.js';

describe('vramseal devices', () => {
  it('on the mock: the backend and why, each device with memory, UUID and the VRAM-only verdict', () => {
    const r = run(['devices', '--backend', 'mock']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^backend {2}mock: /m);
    expect(r.stdout).toMatch(/^device 0 {2}mock-0$/m);
    expect(r.stdout).toMatch(/^ {2}memory {6}16\.0 GiB total, 16\.0 GiB available$/m);
    expect(r.stdout).toMatch(/^ {2}uuid {8}MOCK-[0-9a-f]{8}-[0-9a-f]{4}-/m);
    expect(r.stdout).toMatch(/^ {2}VRAM-only {3}no: .*host memory/m);
    expect(r.stderr).toBe('');
  });

  it('--json is one document: backend kind and reason, devices with their verdicts', () => {
    const r = run(['devices', '--backend', 'mock', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.backend.kind).toBe('mock');
    expect(doc.backend.selectedBecause).toEqual(expect.any(String));
    expect(doc.devices).toHaveLength(1);
    expect(doc.devices[0]).toMatchObject({
      index: 0,
      name: 'mock-0',
      totalBytes: 16 * 2 ** 30,
      computeCapability: null,
      vramOnly: { ok: false, reason: expect.stringContaining('host memory') },
    });
  });

  it('auto says which backend it chose; cuda without a GPU is exit 2 with the fix', () => {
    const auto = JSON.parse(run(['devices', '--backend', 'auto', '--json']).stdout);
    expect(['cuda', 'mock']).toContain(auto.backend.kind);
    const cuda = run(['devices', '--backend', 'cuda']);
    if (auto.backend.kind === 'mock') {
      // No GPU answered (this development VM): asking for cuda is an error, not a silent mock.
      expect(cuda.code).toBe(2);
      expect(cuda.stderr).toMatch(
        /^vramseal: --backend cuda: no CUDA device answered \(cuda\w+\); .*use --backend auto or mock\n$/,
      );
    } else {
      expect(cuda.code).toBe(0);
      expect(cuda.stdout).toMatch(/^backend {2}cuda: /m);
    }
  });

  it('VRAMSEAL_BACKEND chooses the default backend', () => {
    const r = run(['devices', '--json'], { env: { VRAMSEAL_BACKEND: 'mock' } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).backend.kind).toBe('mock');
  });
});
