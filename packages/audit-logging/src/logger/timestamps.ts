/**
 * ISO 8601 UTC text of a time, exactly as `Date#toISOString` writes it, with the part up to the
 * second formatted once per second: the logger stamps every event, and on the cold CPU that
 * `immediate` durability leaves after each fsync, toISOString costs several times as much.
 */
export class IsoTimestamps {
  #second = Number.NaN;
  /** toISOString of the current second without its milliseconds and `Z` ("…T12:34:56."). */
  #prefix = '';

  format(date: Date): string {
    const ms = date.getTime();
    const second = Math.floor(ms / 1000);
    if (second !== this.#second) {
      // An invalid Date (NaN) always lands here, and toISOString throws its RangeError.
      const full = date.toISOString();
      this.#second = second;
      this.#prefix = full.slice(0, -4);
      return full;
    }
    const milli = ms - second * 1000;
    return `${this.#prefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
  }
}
