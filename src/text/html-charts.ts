/**
 * The HTML report's charts as plain inline SVG, drawn from the data when the report is written (no script and
 * no library needed to see them). Every label passes through {@link escapeHtml}. Each bar is a
 * `<rect class="bar ...">` with its value in `data-value` and a `<title>` tooltip, so a test (or a reader of the
 * source) can check what was drawn.
 */

import { formatDuration } from './format.js';

/** Text made safe inside HTML and SVG, in elements and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface BarDatum {
  readonly label: string;
  readonly value: number;
  /** A CSS class for the bar's colour (`ok`, `warn`, `bad`, `info`); none: the default colour. */
  readonly tone?: 'ok' | 'warn' | 'bad' | 'info';
  /** Tooltip text (default: label and value). */
  readonly title?: string;
}

const LABEL_WIDTH = 230;
const VALUE_WIDTH = 70;
const ROW_HEIGHT = 22;

/** A horizontal bar chart, one row per datum, bars scaled to the largest value. */
export function barChart(id: string, caption: string, data: readonly BarDatum[], width = 560): string {
  if (data.length === 0)
    return `<figure class="chart" id="${escapeHtml(id)}"><figcaption>${escapeHtml(caption)}</figcaption><p class="empty">none</p></figure>`;
  const max = Math.max(1, ...data.map((d) => d.value));
  const barSpace = width - LABEL_WIDTH - VALUE_WIDTH;
  const height = data.length * ROW_HEIGHT + 4;
  const rows = data.map((d, i) => {
    const y = i * ROW_HEIGHT + 2;
    const w = d.value === 0 ? 0 : Math.max(1, Math.round((d.value / max) * barSpace));
    const label = d.label.length > 34 ? `${d.label.slice(0, 33)}…` : d.label;
    const title = d.title ?? `${d.label}: ${d.value}`;
    return (
      `<g><title>${escapeHtml(title)}</title>` +
      `<text class="label" x="${LABEL_WIDTH - 6}" y="${y + 15}" text-anchor="end">${escapeHtml(label)}</text>` +
      `<rect class="bar${d.tone === undefined ? '' : ` ${d.tone}`}" x="${LABEL_WIDTH}" y="${y + 2}" width="${w}" height="${ROW_HEIGHT - 6}" data-value="${d.value}"></rect>` +
      `<text class="value" x="${LABEL_WIDTH + w + 4}" y="${y + 15}">${d.value}</text></g>`
    );
  });
  return (
    `<figure class="chart" id="${escapeHtml(id)}"><figcaption>${escapeHtml(caption)}</figcaption>` +
    `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(caption)}">` +
    `${rows.join('')}</svg></figure>`
  );
}

export interface SeriesBucket {
  /** Microseconds since the epoch. */
  readonly startMicros: number;
  readonly sessions: number;
  readonly failures: number;
}

/** Date and time of a bucket start, UTC, to the second: `2024-03-01 12:00:05`. */
function stamp(micros: number): string {
  return new Date(Math.floor(micros / 1000)).toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * Sessions (started) and failures per time bucket: for each bucket a session bar and a failure bar, side
 * by side on one scale; the first and last bucket times under the axis, the scale's top at its left.
 */
export function timeSeriesChart(
  id: string,
  caption: string,
  buckets: readonly SeriesBucket[],
  widthMicros: number,
): string {
  const width = 1160;
  const height = 190;
  const left = 56;
  const bottom = 36;
  const top = 12;
  if (buckets.length === 0)
    return `<figure class="chart wide" id="${escapeHtml(id)}"><figcaption>${escapeHtml(caption)}</figcaption><p class="empty">no sessions</p></figure>`;
  const max = Math.max(1, ...buckets.map((b) => Math.max(b.sessions, b.failures)));
  const plotW = width - left - 8;
  const plotH = height - top - bottom;
  const step = plotW / buckets.length;
  // Each bucket: the sessions bar on the left half, the failures bar on the right half.
  const barW = Math.max(0.5, step * 0.42);
  const y = (v: number): number => top + plotH - (v / max) * plotH;
  const bar = (cls: string, x: number, v: number): string =>
    `<rect class="bar ${cls}" x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${barW.toFixed(1)}" height="${(top + plotH - y(v)).toFixed(1)}" data-value="${v}"></rect>`;
  const bars = buckets.map((b, i) => {
    const x = left + i * step + step * 0.06;
    const tip = `${stamp(b.startMicros)} UTC (${formatDuration(widthMicros)}): ${b.sessions} session(s), ${b.failures} failure(s)`;
    return `<g><title>${escapeHtml(tip)}</title>${bar('sessions', x, b.sessions)}${bar('failures bad', x + barW, b.failures)}</g>`;
  });
  const last = buckets[buckets.length - 1] as SeriesBucket;
  const first = buckets[0] as SeriesBucket;
  const axis =
    `<line class="axis" x1="${left}" y1="${top + plotH}" x2="${width - 8}" y2="${top + plotH}"></line>` +
    `<line class="axis" x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}"></line>` +
    `<text class="label" x="${left - 6}" y="${top + 10}" text-anchor="end">${max}</text>` +
    `<text class="label" x="${left - 6}" y="${top + plotH}" text-anchor="end">0</text>` +
    `<text class="label" x="${left}" y="${height - 16}">${escapeHtml(stamp(first.startMicros))} UTC</text>` +
    `<text class="label" x="${width - 8}" y="${height - 16}" text-anchor="end">${escapeHtml(stamp(last.startMicros + widthMicros))} UTC</text>` +
    `<text class="label" x="${(left + width) / 2}" y="${height - 2}" text-anchor="middle">one bar per ${escapeHtml(formatDuration(widthMicros))}; left, grey: sessions started; right, red: failures</text>`;
  return (
    `<figure class="chart wide" id="${escapeHtml(id)}"><figcaption>${escapeHtml(caption)}</figcaption>` +
    `<svg class="chart" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${escapeHtml(caption)}">` +
    `${axis}${bars.join('')}</svg></figure>`
  );
}
