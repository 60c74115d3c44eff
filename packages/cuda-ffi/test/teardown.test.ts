import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { mockBackend } from './helpers.js';

/**
 * A worker_thread that is terminated while its digests run: the digests complete on libuv
 * threads after the worker's environment is gone, and settling their promises must not abort the
 * process (it once did: std::terminate from a Napi::Error thrown in the completion callback).
 * If it regressed, this whole test process would die, not just this test.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { NativeBackend } = require(workerData);
const backend = new NativeBackend('mock', { devices: [{ name: 'w', totalBytes: 2 ** 28 }] });
// 32 MiB in 64-byte leaves: half a million leaf hashes, far longer than terminate() takes.
const handle = backend.allocate(0, 2 ** 25);
backend.treeDigest(handle, 64);
backend.free(handle);
parentPort.postMessage('digesting');
`;

describe('environment teardown', () => {
  it('terminating a worker_thread mid-digest leaves the process running', async () => {
    const addonPath = mockBackend().backendInfo().addonPath;
    for (let i = 0; i < 2; i++) {
      const worker = new Worker(WORKER, { eval: true, workerData: addonPath });
      const message = await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      expect(message).toBe('digesting');
      await worker.terminate();
    }
    // Still alive, and the addon still serves this process.
    const backend = mockBackend();
    const allocation = backend.allocate(0, 2 ** 24);
    expect(await allocation.treeDigest({ leafSize: 64 })).toHaveLength(32);
    allocation.free();
  });
});
