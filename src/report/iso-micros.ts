/** Formats integer microseconds since the Unix epoch as ISO 8601 UTC with six fractional digits. */
export function formatIsoMicros(tsMicros: number): string {
  const us = Math.round(tsMicros);
  const ms = Math.floor(us / 1000);
  const frac = us - Math.floor(us / 1_000_000) * 1_000_000;
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${iso.slice(0, 19)}.${String(frac).padStart(6, '0')}Z`;
}
