/** ISO prefix ("YYYY-MM-DDTHH:MM:SS") of the last whole second formatted: times in a run cluster together. */
let cachedSecond = Number.NaN;
let cachedPrefix = '';

/** Formats integer microseconds since the Unix epoch as ISO 8601 UTC with six fractional digits. */
export function formatIsoMicros(tsMicros: number): string {
  const us = Math.round(tsMicros);
  const second = Math.floor(us / 1_000_000);
  if (second !== cachedSecond) {
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 19);
    cachedSecond = second;
  }
  const frac = us - second * 1_000_000;
  return `${cachedPrefix}.${String(frac).padStart(6, '0')}Z`;
}
