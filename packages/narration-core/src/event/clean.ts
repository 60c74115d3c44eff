import { sanitizeText } from '../redaction/sanitize.js';
import { REDACTED, redactSecrets } from '../redaction/secrets.js';

/** Longest string value written, in UTF-16 units; longer ones are cut with a marker. */
export const MAX_STRING_LENGTH = 8192;
const MAX_CONTEXT_DEPTH = 4;
const MAX_CONTEXT_ENTRIES = 100;

/**
 * Makes one string safe to write: sanitise first (so an invisible character cannot split a
 * secret and hide it from redaction), then redact, then bound the length (after redaction, so
 * a cut can never leave half a secret that the patterns no longer recognise).
 */
export function cleanString(text: string): string {
  const clean = redactSecrets(sanitizeText(text));
  if (clean.length <= MAX_STRING_LENGTH) return clean;
  return `${clean.slice(0, MAX_STRING_LENGTH)}…[truncated ${clean.length - MAX_STRING_LENGTH} chars]`;
}

// Identifier-like values (actor, action, target, ids, device, model_ref) repeat across events,
// so their cleaned form is cached: a Map hit costs ~10 ns against ~250 ns for the scans.
// Bounded: short strings only, and the cache is emptied when full (cheap, and a steady set of
// identifiers refills it at once).
const IDENTIFIER_CACHE_MAX_ENTRIES = 4096;
const IDENTIFIER_CACHE_MAX_LENGTH = 256;
const identifierCache = new Map<string, string>();

/** `cleanString` for values that tend to repeat; same result, cached. */
export function cleanIdentifier(text: string): string {
  const cached = identifierCache.get(text);
  if (cached !== undefined) return cached;
  const clean = cleanString(text);
  if (text.length <= IDENTIFIER_CACHE_MAX_LENGTH) {
    if (identifierCache.size >= IDENTIFIER_CACHE_MAX_ENTRIES) identifierCache.clear();
    identifierCache.set(text, clean);
  }
  return clean;
}

/** Truncates to `max` code points, the last one being "…". */
export function truncateCodePoints(text: string, max: number): string {
  return `${Array.from(text)
    .slice(0, max - 1)
    .join('')}…`;
}

/** Length in code points, counted only when the cheap UTF-16 length leaves it in doubt. */
export function codePointLength(text: string, limit: number): number {
  if (text.length <= limit) return text.length;
  let count = 0;
  for (const _ of text) count++;
  return count;
}

// Context keys whose values are secrets whatever they look like. The key's last word decides
// (snake_case, kebab-case, dotted and camelCase keys are split into words): "db_password",
// "x-api-key", "secretKey", "aws_secret_access_key", "pwd" are secret; "max_tokens",
// "token_count", "keyId", "hotkey" are not. Compound spellings written as one word are matched
// on the end of the lower-cased key ("apikey", "accesstoken", "dbpassword").
const SECRET_LAST_WORDS: ReadonlySet<string> = new Set([
  'password',
  'passwd',
  'passphrase',
  'pass',
  'pwd',
  'secret',
  'token',
  'key',
  'authorization',
  'cookie',
  'credential',
  'credentials',
]);
const SECRET_KEY_SUFFIX =
  /(?:password|passwd|passphrase|secret|token|apikey|privatekey|authorization|cookie|credentials?)$/;

export function isSecretKey(key: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  const lastWord = words.at(-1) === '' ? words.at(-2) : words.at(-1);
  return SECRET_LAST_WORDS.has(lastWord ?? '') || SECRET_KEY_SUFFIX.test(words.join(''));
}

/**
 * Copies structured context into plain JSON-safe data: strings cleaned, values under
 * secret-named keys replaced, Errors reduced to name/message/code, depth and size bounded,
 * functions and symbols dropped, bigint written as a string, cycles cut.
 */
export function cleanContext(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  switch (typeof value) {
    case 'string':
      return cleanString(value);
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return null;
  const object = value as object;
  if (seen.has(object)) return '[Circular]';
  if (depth >= MAX_CONTEXT_DEPTH) return '[Depth limit]';
  seen.add(object);
  try {
    if (object instanceof Error) return cleanError(object);
    if (object instanceof Date) return Number.isNaN(object.getTime()) ? null : object.toISOString();
    if (Array.isArray(object)) {
      const items = object.slice(0, MAX_CONTEXT_ENTRIES).map((item) => {
        const clean = cleanContext(item, depth + 1, seen);
        return clean === undefined ? null : clean;
      });
      if (object.length > MAX_CONTEXT_ENTRIES) {
        items.push(`[${object.length - MAX_CONTEXT_ENTRIES} more items]`);
      }
      return items;
    }
    const out: Record<string, unknown> = {};
    let entries = 0;
    for (const key of Object.keys(object)) {
      if (entries++ >= MAX_CONTEXT_ENTRIES) break;
      const cleanKey = cleanString(key);
      const clean = isSecretKey(key)
        ? REDACTED
        : cleanContext(readProperty(object, key), depth + 1, seen);
      if (clean !== undefined) out[cleanKey] = clean;
    }
    return out;
  } catch {
    // A proxy trap or an Error's getter threw: the event is still written, with a marker.
    return UNREADABLE;
  } finally {
    seen.delete(object);
  }
}

/** Written in place of a value whose getter throws, so narrating never throws because of it. */
const UNREADABLE = '[Unreadable]';

function readProperty(object: object, key: string): unknown {
  try {
    return (object as Record<string, unknown>)[key];
  } catch {
    return UNREADABLE;
  }
}

function cleanError(error: Error): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: cleanString(error.name),
    message: cleanString(error.message),
  };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out.code = cleanContext(code);
  return out;
}
