import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BackendChoice, chooseBackend } from '../scenario/backend-choice.js';

/** Where one run's proof bundle goes, and the Cucumber settings that write it. */
export interface ProofBundleConfig {
  readonly runId: string;
  /** `<VRAMSEAL_PROOF_DIR or <root>/.proof_bundle>/bdd/<runId>` (absolute). */
  readonly dir: string;
  readonly backend: BackendChoice;
  /** Add to Cucumber's `format`: messages NDJSON, HTML, JUnit and the index.md formatter. */
  readonly format: string[];
  /** Give to Cucumber's `worldParameters`: the After hook writes each scenario's evidence there. */
  readonly worldParameters: { proofBundle: string };
  /** `'not @gpu'` unless the run has a CUDA device; give to Cucumber's `tags`. */
  readonly tags: string;
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The proof bundle of this run. `VRAMSEAL_RUN_ID` names the run (letters, digits, `. _ -`; default
 * `<UTC date-time>-<random>`), `VRAMSEAL_PROOF_DIR` replaces `<root>/.proof_bundle`. The run id is
 * written back to `process.env` so every part of the run (hooks, formatter) agrees on it.
 */
export function proofBundleConfig(options: {
  root: string;
  env?: NodeJS.ProcessEnv;
}): ProofBundleConfig {
  const env = options.env ?? process.env;
  const runId = env.VRAMSEAL_RUN_ID || newRunId();
  if (!RUN_ID.test(runId)) {
    throw new Error(
      `VRAMSEAL_RUN_ID must be 1-128 of A-Z a-z 0-9 . _ - starting with a letter or digit ` +
        `(it names a folder), got ${JSON.stringify(runId)}`,
    );
  }
  env.VRAMSEAL_RUN_ID = runId;
  const base = env.VRAMSEAL_PROOF_DIR
    ? resolve(env.VRAMSEAL_PROOF_DIR)
    : join(resolve(options.root), '.proof_bundle');
  const dir = join(base, 'bdd', runId);
  replacePreviousBundle(dir);
  const backend = chooseBackend(env);
  return {
    runId,
    dir,
    backend,
    // Each part quoted: the formatter is a file:// URL, and paths may hold colons.
    format: [
      formatSpec('message', join(dir, 'messages.ndjson')),
      formatSpec('html', join(dir, 'report.html')),
      formatSpec('junit', join(dir, 'junit.xml')),
      formatSpec(indexFormatterUrl(), join(dir, 'index.md')),
    ],
    worldParameters: { proofBundle: dir },
    tags: backend.kind === 'cuda' ? '' : 'not @gpu',
  };
}

/**
 * A run id names one run: a bundle left by an earlier run of the same id is removed, so no
 * scenario folder of that run is mistaken for this one's. Only a folder that holds a bundle's
 * index or messages is removed; anything else there is refused.
 */
function replacePreviousBundle(dir: string): void {
  if (!existsSync(dir)) return;
  const ours = ['index.md', 'messages.ndjson'].some((name) => existsSync(join(dir, name)));
  if (!ours && readdirSync(dir).length > 0) {
    throw new Error(`${dir} exists and is not a proof bundle: choose another VRAMSEAL_RUN_ID`);
  }
  rmSync(dir, { recursive: true, force: true });
}

/** `20261128T091500Z-3f9a1c`: sorts by time, unique across machines. */
export function newRunId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

function formatSpec(formatter: string, file: string): string {
  return `${JSON.stringify(formatter)}:${JSON.stringify(file)}`;
}

/** The formatter module next to this one (.ts from source, .js from dist), as a file:// URL. */
function indexFormatterUrl(): string {
  const here = fileURLToPath(import.meta.url);
  const ext = here.endsWith('.ts') ? '.ts' : '.js';
  const file = join(here, '..', `index-formatter${ext}`);
  if (!isAbsolute(file)) throw new Error(`cannot locate the index formatter from ${here}`);
  // pathToFileURL escapes '#', '%' and '?' that a checkout path may hold.
  return pathToFileURL(file).href;
}
