const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 -> "1.5 KiB"; exact bytes below 1 KiB. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** Milliseconds, with a precision that suits the size. */
export function formatMs(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${Math.round(ms)} ms`;
  return `${ms.toFixed(1)} ms`;
}

/** Decimal megabytes per second, the unit the benchmarks print. */
export function formatRate(bytes: number, ms: number): string {
  if (ms <= 0) return '-';
  const mbPerS = bytes / 1e6 / (ms / 1000);
  return mbPerS >= 1000 ? `${(mbPerS / 1000).toFixed(2)} GB/s` : `${mbPerS.toFixed(0)} MB/s`;
}

/** The first 16 hex characters of a digest: enough to tell two apart on screen. */
export function shortHex(hex: string): string {
  return hex.length > 16 ? `${hex.slice(0, 16)}…` : hex;
}
