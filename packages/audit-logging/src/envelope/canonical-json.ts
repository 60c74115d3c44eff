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
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return `${out}]`;
  }
  if (typeof value === 'object') {
    // Hot path (every record): plain loops and string concatenation, no intermediate arrays.
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).sort();
    let out = '{';
    for (const k of keys) {
      const v = obj[k];
      if (v === undefined) continue;
      out += `${out.length === 1 ? '' : ','}${JSON.stringify(k)}:${canonicalJson(v)}`;
    }
    return `${out}}`;
  }
  throw new TypeError(`canonicalJson: cannot encode a value of type ${typeof value}`);
}
