import { readFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const UNKNOWN = 'unknown';

// This package's own code (src/ when run from source, dist/ when installed): frames inside it
// are skipped when looking for the caller.
const OWN_CODE_DIR = dirname(dirname(fileURLToPath(import.meta.url))) + sep;

const packageIdByDir = new Map<string, string>();

/**
 * `name@version` of the package whose code called `createNarrator`: the nearest package.json
 * above the first stack frame outside narration-core. Runs once per narrator (not per event).
 * Returns "unknown" when there is no such file (a bundled or eval'd caller): pass `emittedBy`
 * explicitly there.
 */
export function detectCallerPackage(): string {
  const stack = new Error().stack ?? '';
  for (const line of stack.split('\n').slice(1)) {
    const file = frameFile(line);
    if (file === undefined || file.startsWith(OWN_CODE_DIR) || file.startsWith('node:')) continue;
    return packageIdAbove(dirname(file));
  }
  return UNKNOWN;
}

// "    at fn (/abs/file.js:1:2)", "    at /abs/file.js:1:2", "    at fn (file:///abs/file.js:1:2)"
const FRAME_LOCATION = /\(?((?:file:\/\/)?[^\s()]+?):\d+:\d+\)?$/;

function frameFile(line: string): string | undefined {
  const match = FRAME_LOCATION.exec(line.trim());
  const location = match?.[1];
  if (location === undefined) return undefined;
  if (location.startsWith('file://')) {
    try {
      return fileURLToPath(location);
    } catch {
      return undefined;
    }
  }
  return location.startsWith('/') || /^[A-Za-z]:\\/.test(location) ? location : undefined;
}

function packageIdAbove(startDir: string): string {
  const cached = packageIdByDir.get(startDir);
  if (cached !== undefined) return cached;
  let id = UNKNOWN;
  for (let dir = startDir; ; dir = dirname(dir)) {
    const found = readPackageId(join(dir, 'package.json'));
    if (found !== undefined) {
      id = found;
      break;
    }
    if (dirname(dir) === dir) break;
  }
  packageIdByDir.set(startDir, id);
  return id;
}

function readPackageId(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const pkg = JSON.parse(text) as { name?: unknown; version?: unknown };
    if (typeof pkg.name !== 'string') return undefined; // a nameless package.json ("type" only)
    return typeof pkg.version === 'string' ? `${pkg.name}@${pkg.version}` : pkg.name;
  } catch {
    return undefined;
  }
}
