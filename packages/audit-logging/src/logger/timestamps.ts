/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: what ISO 8601 with four year digits spans. */
const FIRST_MS = -62_167_219_200_000;
const LAST_MS = 253_402_300_799_999;

/** A Date a record's `ts` can hold (toISOString of any other has no four-digit year, or throws). */
export function isRecordableTime(value: unknown): value is Date {
  if (!(value instanceof Date)) return false;
  const ms = value.getTime();
  return ms >= FIRST_MS && ms <= LAST_MS; // false for NaN too
}

/** What a clock returned, for the error (a Date is no secret; anything else only by its type). */
export function describeTime(value: unknown): string {
  if (!(value instanceof Date)) return value === null ? 'null' : `a ${typeof value}`;
  return Number.isNaN(value.getTime()) ? 'an invalid Date' : `the Date ${value.toISOString()}`;
}

/**
 * ISO 8601 UTC text of a time, exactly as `Date#toISOString` writes it, with the part up to the
 * second formatted once per second: the logger stamps every event, and on the cold CPU that
 * `immediate` durability leaves after each fsync, toISOString costs several times as much.
 */
export class IsoTimestamps {
  #second = Number.NaN;
  /** toISOString of the current second without its milliseconds and `Z` ("…T12:34:56."). */
  #prefix = '';

  /** `date` must be recordable (`isRecordableTime`). */
  format(date: Date): string {
    const ms = date.getTime();
    const second = Math.floor(ms / 1000);
    if (second !== this.#second) {
      const full = date.toISOString();
      this.#second = second;
      this.#prefix = full.slice(0, -4);
      return full;
    }
    const milli = ms - second * 1000;
    return `${this.#prefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
  }
}
