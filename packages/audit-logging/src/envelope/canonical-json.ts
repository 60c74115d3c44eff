/**
 * Canonical JSON: object keys sorted by UTF-16 code units at every level, no whitespace, strings
 * and integers as JSON.stringify writes them (the subset of RFC 8785 JCS that audit records use:
 * strings, safe integers, booleans, null, arrays, plain objects). One value has exactly one
 * encoding, so a MAC over it is reproducible by any verifier.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new TypeError('canonicalJson: only safe integers are allowed in audit records');
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map(canonicalJson).join(',')}]`;
  }
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  throw new TypeError(`canonicalJson: cannot encode a value of type ${typeof value}`);
}
