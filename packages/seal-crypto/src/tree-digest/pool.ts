import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SealCryptoError } from '../errors/errors.js';

export interface HashJob {
  buffer: ArrayBuffer | SharedArrayBuffer;
  byteOffset: number;
  byteLength: number;
  leafSize: number;
  /** The bytes are [0x00 | leaf] records (the copy path writes them so), not bare leaves. */
  prefixed: boolean;
  /** Return only the Merkle Tree Hash of the chunk's leaves instead of every leaf hash. */
  subtreeRoot: boolean;
  /** Transfer `buffer` to the worker and have it sent back for reuse (plain ArrayBuffers only). */
  returnBuffer: boolean;
}

interface HashJobResult {
  hashes: Uint8Array;
  buffer: ArrayBuffer | null;
}

interface WorkerReply {
  id: number;
  hashes?: Uint8Array;
  buffer?: ArrayBuffer | null;
  error?: string;
}

interface Pending {
  resolve: (result: HashJobResult) => void;
  reject: (error: Error) => void;
}

/**
 * One leaf-hashing worker thread. It is unref()'d while idle, so an idle pool never keeps the
 * process alive, and ref()'d while it has jobs, so an awaited treeDigest is never cut short.
 */
class HashWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #dead = false;

  constructor(onDeath: (worker: HashWorker) => void) {
    this.#worker = startWorker();
    this.#worker.unref();
    this.#worker.on('message', (reply: WorkerReply) => this.#settle(reply));
    this.#worker.on('error', (error) => this.#die(error, onDeath));
    this.#worker.on('exit', (code) =>
      this.#die(new Error(`worker exited with code ${code}`), onDeath),
    );
  }

  get load(): number {
    return this.#pending.size;
  }

  run(job: HashJob): Promise<HashJobResult> {
    if (this.#dead) return Promise.reject(workerFailed('the worker has stopped'));
    const id = this.#nextId++;
    const transfer = job.returnBuffer ? [job.buffer as ArrayBuffer] : [];
    return new Promise<HashJobResult>((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, ...job }, transfer);
    });
  }

  terminate(): Promise<number> {
    return this.#worker.terminate();
  }

  #settle(reply: WorkerReply): void {
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker.unref();
    if (reply.error !== undefined || reply.hashes === undefined) {
      pending.reject(workerFailed(reply.error ?? 'no result'));
    } else {
      pending.resolve({ hashes: reply.hashes, buffer: reply.buffer ?? null });
    }
  }

  #die(cause: Error, onDeath: (worker: HashWorker) => void): void {
    if (this.#dead) return;
    this.#dead = true;
    onDeath(this);
    for (const pending of this.#pending.values())
      pending.reject(workerFailed(cause.message, cause));
    this.#pending.clear();
  }
}

const WORKER_NAME = 'vramseal-tree-digest';

/**
 * Starts worker.js, the module next to this one in dist, through a one-line bootstrap that imports
 * it. Not `new Worker(file)`: a worker inherits the parent's `--input-type`, which Node refuses for
 * a file entry (`node --input-type=module -e` would then fail every digest); dynamic import() runs
 * the same whether the bootstrap is taken as CommonJS or as an ES module. From src (the workspace's
 * `@vramseal/source` condition: tests, benchmarks, tsx) the module is worker.ts, which Node 20
 * cannot load by itself, so the bootstrap first registers tsx (a workspace dev dependency, never
 * needed from dist) in the new thread.
 */
function startWorker(): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const worker = JSON.stringify(
    new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url).href,
  );
  const load = `import(${worker})`;
  if (!fromSource) return new Worker(load, { eval: true, name: WORKER_NAME });
  const tsx = JSON.stringify(
    pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href,
  );
  const bootstrap = `import(${tsx}).then((api) => (api.register ?? api.default.register)()).then(() => ${load})`;
  return new Worker(bootstrap, { eval: true, name: WORKER_NAME });
}

function workerFailed(reason: string, cause?: unknown): SealCryptoError {
  return new SealCryptoError(
    'TREE_DIGEST_WORKER_FAILED',
    `treeDigest worker failed (${reason}); retry, or use treeDigestSync() to hash on this thread`,
    { cause },
  );
}

/** A lazily grown set of workers shared by every treeDigest call in this thread. */
class HashPool {
  readonly #workers: HashWorker[] = [];

  /** Runs `job` on the least-loaded of the first `threads` workers, starting them as needed. */
  run(job: HashJob, threads: number): Promise<HashJobResult> {
    while (this.#workers.length < threads) {
      this.#workers.push(new HashWorker((dead) => this.#remove(dead)));
    }
    let best = this.#workers[0]!;
    for (let i = 1; i < threads; i++) {
      const candidate = this.#workers[i]!;
      if (candidate.load < best.load) best = candidate;
    }
    return best.run(job);
  }

  get size(): number {
    return this.#workers.length;
  }

  async shutdown(): Promise<void> {
    const workers = this.#workers.splice(0);
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  #remove(worker: HashWorker): void {
    const index = this.#workers.indexOf(worker);
    if (index >= 0) this.#workers.splice(index, 1);
  }
}

const pool = new HashPool();

export function hashPool(): HashPool {
  return pool;
}

/** How many treeDigest worker threads are running now (for tests and diagnostics). */
export function treeDigestPoolSize(): number {
  return pool.size;
}
