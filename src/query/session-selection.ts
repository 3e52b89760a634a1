/**
 * Which sessions the outputs get: `--where EXPR` (the filter language of filter.ts, the dashboard's), `--since` and
 * `--until` (docs/FILTERS.md). A session is in the time window when it overlaps it: it ended at or after `since`
 * and started at or before `until`.
 */

import type { SmtpSession } from '../model/types.js';
import { type Filter, matchesFilter, parseFilter } from './filter.js';

export interface SessionSelection {
  readonly where: Filter | null;
  /** Microseconds since the epoch, or null for no bound. */
  readonly sinceMicros: number | null;
  readonly untilMicros: number | null;
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * A time bound: ISO 8601 (`2024-03-01T12:00:00Z`, `2024-03-01 12:00`, a date alone; local time without a zone)
 * or relative to `nowMs`, as `-2h`, `-30m`, `-1d`, `-90s`. Null when the text is neither.
 */
export function parseTimeBound(text: string, nowMs: number): number | null {
  const rel = /^-(\d+(?:\.\d+)?)([smhdw])$/.exec(text.trim());
  if (rel !== null)
    return Math.round((nowMs - Number(rel[1]) * (UNIT_SECONDS[rel[2] ?? 's'] ?? 1) * 1000) * 1000);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return null;
  const ms = Date.parse(text.trim().replace(' ', 'T'));
  return Number.isNaN(ms) ? null : ms * 1000;
}

export type SelectionParse = { ok: true; selection: SessionSelection } | { ok: false; error: string };

export function parseSelection(
  where: string | null,
  since: string | null,
  until: string | null,
  nowMs: number,
): SelectionParse {
  let filter: Filter | null = null;
  if (where !== null) {
    const parsed = parseFilter(where);
    if (!parsed.ok) return { ok: false, error: `--where: ${parsed.error}` };
    filter = parsed.filter;
  }
  const bound = (flag: string, text: string | null): number | null | string => {
    if (text === null) return null;
    const t = parseTimeBound(text, nowMs);
    return (
      t ??
      `--${flag} takes an ISO time (2024-03-01T12:00:00Z) or a relative one (-2h, -30m, -1d), not '${text}'`
    );
  };
  const sinceMicros = bound('since', since);
  const untilMicros = bound('until', until);
  if (typeof sinceMicros === 'string') return { ok: false, error: sinceMicros };
  if (typeof untilMicros === 'string') return { ok: false, error: untilMicros };
  return { ok: true, selection: { where: filter, sinceMicros, untilMicros } };
}

export function isSelective(s: SessionSelection): boolean {
  return (s.where !== null && s.where.terms.length > 0) || s.sinceMicros !== null || s.untilMicros !== null;
}

export function selects(selection: SessionSelection, session: SmtpSession): boolean {
  if (selection.sinceMicros !== null && session.endedAt < selection.sinceMicros) return false;
  if (selection.untilMicros !== null && session.startedAt > selection.untilMicros) return false;
  return selection.where === null || matchesFilter(selection.where, session);
}
