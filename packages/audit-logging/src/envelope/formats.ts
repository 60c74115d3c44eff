/**
 * The exact spellings the logger writes, shared by every reader: one value, one encoding.
 * Lowercase hex only (a decoder would accept uppercase too), and ISO 8601 UTC with milliseconds
 * as `Date.prototype.toISOString` writes it.
 */
export const HEX64 = /^[0-9a-f]{64}$/;
export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
