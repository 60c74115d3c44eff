import { AuditValidationError } from '../errors.js';
import {
  COMMON_OPTIONAL_FIELDS,
  EVENT_SCHEMAS,
  type EventSchema,
  type FieldKind,
  isKnownEventType,
  type LoggedEvent,
  type LoggedEventType,
} from './schema.js';

/** Longest string field, in UTF-8 bytes. Longer values are refused, not truncated. */
export const MAX_FIELD_BYTES = 1024;

/**
 * Characters that let one log line pretend to be another or hide what it says (log injection,
 * CWE-117). The one definition of an unsafe character in text, by Unicode property (UAX #44),
 * shared with @vramseal/narration-core, whose sanitizeText neutralises exactly what this refuses:
 * `testdata/unsafe-characters.json` at the repository root lists every code point, and both packages
 * test against it.
 * - line-breaking: Cc (C0/C1 controls and DEL: NUL, CR, LF, TAB, ESC and so every ANSI sequence),
 *   Zl and Zp (U+2028 / U+2029, line and paragraph separators)
 * - invisible: Cf, format characters (bidi embeddings/overrides/isolates and marks, U+202A-202E,
 *   U+2066-2069, U+200E/200F, U+061C: Trojan Source, CVE-2021-42574; zero-width characters; the BOM;
 *   soft hyphen; tag characters), Cs (a lone surrogate: not text, it has no UTF-8 encoding), and
 *   every other default-ignorable code point (Hangul and Khmer fillers such as U+3164, the combining
 *   grapheme joiner, variation selectors)
 */
const LINE_BREAKING = String.raw`\p{Cc}\p{Zl}\p{Zp}`;
const INVISIBLE = String.raw`\p{Cf}\p{Cs}\p{Default_Ignorable_Code_Point}`;
/** The set as a regular-expression character class body, for code that escapes rather than refuses. */
export const UNSAFE_CHAR_CLASS = `${LINE_BREAKING}${INVISIBLE}`;
const UNSAFE_CHAR = new RegExp(`[${UNSAFE_CHAR_CLASS}]`, 'u');

/**
 * What records written before the shared definition may hold: the default-ignorable code points
 * that are not format characters (U+3164 and the like) were accepted then. Records, checkpoints and
 * published checkpoints read back are checked with this, so every log written then still verifies;
 * `emit` refuses them all.
 */
const UNSAFE_CHAR_WHEN_RECORDED = /[\p{Cc}\p{Zl}\p{Zp}\p{Cf}\p{Cs}]/u;

/** A raw memory address does not belong in an audit log (it helps exploit, not audit). */
const POINTER_LIKE = /\b0x[0-9a-f]{8,}\b/i;

/** 64+ hex digits in free text look like key material; digests go in `sha256` fields. */
const KEY_LIKE = /[0-9a-f]{64,}/i;

const SHA256_HEX = /^[0-9a-f]{64}$/;
const FINGERPRINT = /^sha256:[0-9a-f]{16}$/;

function describeChar(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Printable ASCII (U+0020-U+007E) holds no unsafe character (the only ASCII ones are the C0
 * controls and DEL), so the common id or digest skips the Unicode-property regex: a plain loop is
 * several times cheaper on a cold CPU, which is what `immediate` durability runs on after each fsync.
 */
function isPrintableAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit < 0x20 || unit > 0x7e) return false;
  }
  return true;
}

/**
 * The rules `text` and `name` share: no forbidden character, 1..MAX_FIELD_BYTES bytes of UTF-8.
 * `name` (ids, refs, a path someone tried) stops here.
 */
function checkName(field: string, value: string, unsafe: RegExp): void {
  const bad = isPrintableAscii(value) ? null : unsafe.exec(value);
  if (bad) {
    throw new AuditValidationError(
      field,
      `event field "${field}" contains the forbidden character ${describeChar(bad[0])} at index ${bad.index} ` +
        '(control, escape, bidi, zero-width or other invisible characters could forge or hide log lines); strip it before emitting',
    );
  }
  // A UTF-16 unit is at most 3 UTF-8 bytes: short strings cannot be over the limit (hot path).
  if (value.length * 3 > MAX_FIELD_BYTES) {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > MAX_FIELD_BYTES) {
      throw new AuditValidationError(
        field,
        `event field "${field}" is ${bytes} bytes; the limit is ${MAX_FIELD_BYTES} bytes. Log a reference or a digest instead`,
      );
    }
  }
  if (value.length === 0) {
    throw new AuditValidationError(
      field,
      `event field "${field}" is empty; give a non-empty value`,
    );
  }
}

/**
 * Free text: the `name` rules, plus no pointer-like or key-like runs of hex (which in a name, such
 * as shard id `0x1234abcd` or model ref `sha256:<64 hex>`, are public identifiers).
 */
function checkText(field: string, value: string, unsafe: RegExp): void {
  checkName(field, value, unsafe);
  if ((value.includes('0x') || value.includes('0X')) && POINTER_LIKE.test(value)) {
    throw new AuditValidationError(
      field,
      `event field "${field}" contains what looks like a memory address (0x...); audit logs must not hold pointers`,
    );
  }
  if (value.length >= 64 && KEY_LIKE.test(value)) {
    throw new AuditValidationError(
      field,
      `event field "${field}" contains 64+ hex digits, which looks like key material; log a fingerprint (tokenFingerprint()) or put digests in a sha256 field`,
    );
  }
}

function kindLabel(kind: FieldKind): string {
  return typeof kind === 'string'
    ? kind
    : `one of ${kind.map((v) => JSON.stringify(v)).join(', ')}`;
}

function wrongKind(field: string, kind: FieldKind, value: unknown): AuditValidationError {
  return new AuditValidationError(
    field,
    `event field "${field}" must be ${kindLabel(kind)}, got ${describeValue(value)}`,
  );
}

/**
 * Checks one value against a field kind, as `emit` does for every field: throws
 * AuditValidationError naming `field` (the value itself is never echoed). Exported so that code
 * which accepts ids or text it will later audit can refuse, up front, what the log would refuse.
 */
export function validateField(field: string, kind: FieldKind, value: unknown): void {
  checkField(field, kind, value, UNSAFE_CHAR);
}

function checkField(field: string, kind: FieldKind, value: unknown, unsafe: RegExp): void {
  if (typeof kind !== 'string') {
    if (typeof value !== 'string' || !kind.includes(value)) throw wrongKind(field, kind, value);
    return;
  }
  switch (kind) {
    case 'text':
      if (typeof value !== 'string') throw wrongKind(field, kind, value);
      checkText(field, value, unsafe);
      return;
    case 'name':
      if (typeof value !== 'string') throw wrongKind(field, kind, value);
      checkName(field, value, unsafe);
      return;
    case 'uint':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
        throw wrongKind(field, kind, value);
      }
      return;
    case 'bool':
      if (typeof value !== 'boolean') throw wrongKind(field, kind, value);
      return;
    case 'sha256':
      if (typeof value !== 'string' || !SHA256_HEX.test(value)) {
        throw new AuditValidationError(
          field,
          `event field "${field}" must be a SHA-256 digest as 64 lowercase hex characters, got ${describeValue(value)}`,
        );
      }
      return;
    case 'fingerprint':
      if (typeof value !== 'string' || !FINGERPRINT.test(value)) {
        throw new AuditValidationError(
          field,
          `event field "${field}" must be a token fingerprint ("sha256:" + 16 hex, from tokenFingerprint()); never pass the token itself`,
        );
      }
      return;
  }
}

/** Says what a bad value is without echoing it (it may be a secret someone passed by mistake). */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (typeof value === 'number')
    return Number.isFinite(value) ? `the number ${value}` : String(value);
  return `a value of type ${typeof value}`;
}

interface PlannedField {
  readonly name: string;
  readonly kind: FieldKind;
  readonly required: boolean;
}

interface ValidationPlan {
  readonly system: boolean;
  /** Every field of the type but `type` itself, in canonical (sorted) order. */
  readonly fields: readonly PlannedField[];
  readonly known: ReadonlySet<string>;
}

/** The schema table turned into lookup structures once per type (validation runs per event). */
const plans = new Map<LoggedEventType, ValidationPlan>();

function planFor(type: LoggedEventType): ValidationPlan {
  let plan = plans.get(type);
  if (plan === undefined) {
    const schema: EventSchema = EVENT_SCHEMAS[type];
    const optional = { ...COMMON_OPTIONAL_FIELDS, ...schema.optional };
    const fields: PlannedField[] = [
      ...Object.entries(schema.required).map(([name, kind]) => ({ name, kind, required: true })),
      ...Object.entries(optional)
        .filter(([name]) => !Object.hasOwn(schema.required, name))
        .map(([name, kind]) => ({ name, kind, required: false })),
    ];
    fields.push({ name: 'type', kind: 'name', required: true });
    fields.sort((a, b) => (a.name < b.name ? -1 : 1));
    // JS objects list integer-like keys first, whatever the insertion order: with such a field
    // the copy's JSON.stringify would no longer be canonical JSON.
    const integerLike = fields.find((f) => /^(0|[1-9]\d*)$/.test(f.name));
    if (integerLike) {
      throw new Error(
        `event schema "${type}" has the integer-like field name "${integerLike.name}"`,
      );
    }
    plan = {
      system: schema.category === 'system',
      fields,
      known: new Set(fields.map((f) => f.name)),
    };
    plans.set(type, plan);
  }
  return plan;
}

/**
 * Checks an event against its schema: known `type`, every required field present and well formed,
 * optional fields well formed, nothing else. Returns a plain copy holding only schema fields, so a
 * getter or prototype trick on the caller's object cannot change what is hashed later.
 */
export function validateEvent(
  input: unknown,
  options: { allowSystem?: boolean } = {},
): LoggedEvent {
  return checkEvent(input, options.allowSystem === true, UNSAFE_CHAR);
}

/** validateEvent for an event read back from a record, system events included (see UNSAFE_CHAR_WHEN_RECORDED). */
export function validateRecordedEvent(input: unknown): LoggedEvent {
  return checkEvent(input, true, UNSAFE_CHAR_WHEN_RECORDED);
}

function checkEvent(input: unknown, allowSystem: boolean, unsafe: RegExp): LoggedEvent {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new AuditValidationError(
      'event',
      `event must be an object with a "type" field, got ${describeValue(input)}`,
    );
  }
  const record = input as Record<string, unknown>;
  const type = record.type;
  if (typeof type !== 'string') {
    throw new AuditValidationError(
      'type',
      'event field "type" is missing; set it to one of the documented event types',
    );
  }
  if (!isKnownEventType(type)) {
    throw new AuditValidationError(
      'type',
      `event type ${JSON.stringify(type.slice(0, 64))} is unknown; see EVENT_SCHEMAS (or the README table) for the supported types`,
    );
  }
  const plan = planFor(type);
  if (plan.system && !allowSystem) {
    throw new AuditValidationError(
      'type',
      `event type "${type}" is reserved for the audit logger itself`,
    );
  }
  // Each value is read once, so a getter cannot show one value to the check and another to the
  // copy. A missing required field is reported first, then an unknown one, then a bad value.
  // (Indexed loops: this runs per event, on the cold CPU `immediate` durability leaves.)
  const fields = plan.fields;
  const values: unknown[] = new Array(fields.length);
  for (let i = 0; i < fields.length; i++) {
    const { name, kind, required } = fields[i]!;
    const value = name === 'type' ? type : Object.hasOwn(record, name) ? record[name] : undefined;
    if (required && value === undefined) {
      throw new AuditValidationError(
        name,
        `event "${type}" is missing required field "${name}" (${kindLabel(kind)})`,
      );
    }
    values[i] = value;
  }
  for (const field in record) {
    if (Object.hasOwn(record, field) && !plan.known.has(field)) {
      throw new AuditValidationError(
        field,
        `event "${type}" has unknown field ${JSON.stringify(field.slice(0, 64))}; remove it or use a documented field`,
      );
    }
  }
  // The copy gets its keys in sorted order, so JSON.stringify of it is its canonical JSON
  // (envelope/record.ts eventJson relies on this).
  const clean: Record<string, unknown> = {};
  for (let i = 0; i < fields.length; i++) {
    const value = values[i];
    if (value === undefined) continue;
    const { name, kind } = fields[i]!;
    if (name !== 'type') checkField(name, kind, value, unsafe);
    clean[name] = value;
  }
  return clean as LoggedEvent;
}

/** The same string rules, for the logger's own string options (serviceId). */
export function validateTextOption(name: string, value: unknown): string {
  return checkTextOption(name, value, UNSAFE_CHAR);
}

/** validateTextOption for a value read back from a record or checkpoint (serviceId). */
export function validateRecordedText(name: string, value: unknown): string {
  return checkTextOption(name, value, UNSAFE_CHAR_WHEN_RECORDED);
}

function checkTextOption(name: string, value: unknown, unsafe: RegExp): string {
  if (typeof value !== 'string') {
    throw new AuditValidationError(
      name,
      `${name} must be a non-empty string, got ${describeValue(value)}`,
    );
  }
  checkText(name, value, unsafe);
  return value;
}
