/** Small formatting helpers shared by the text views (summary, transcript, flows). */

/** ISO 8601 UTC with microseconds (one implementation for every output: report/iso-micros.ts). */
export { formatIsoMicros as isoMicros } from '../report/iso-micros.js';

/** "1.234 ms", "12.3 s" style durations from microseconds. */
export function formatDuration(micros: number): string {
  if (micros < 1000) return `${micros} µs`;
  if (micros < 1_000_000) return `${(micros / 1000).toFixed(1)} ms`;
  return `${(micros / 1_000_000).toFixed(3)} s`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

export function endpoint(e: { readonly ip: string; readonly port: number }): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

/** Entries of a count map, largest first, then by key. */
export function byCount<K extends string | number>(counts: ReadonlyMap<K, number>): [K, number][] {
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])));
}

export function increment<K>(map: Map<K, number>, key: K, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}
