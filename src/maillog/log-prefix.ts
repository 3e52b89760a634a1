/**
 * The prefix of one log line: its time, host and program, in the formats mail logs come in.
 *
 * - BSD syslog, journald `short` and `short-precise`, Postfix `postlog` / `maillog_file`:
 *   `Nov 23 18:09:22[.123456] host program[pid]: text` (no year, no zone).
 * - RFC 3339 stamps (rsyslog, journald `short-iso` / `short-iso-precise`):
 *   `2026-11-23T18:09:22[.123456](Z|+00:00|+0000) host program[pid]: text`.
 * - Exim's own main log: `2026-11-23 18:09:22[.123] [+0000] [[pid]] text` (no host, no program).
 *
 * Stamps without a zone are read in the zone given (`utcOffsetMinutes`), else in the local zone of the machine
 * reading them, as syslog wrote them there; a stamp without a year is made in `referenceYear` and marked.
 */

export interface PrefixOptions {
  /** Year for stamps that have none. */
  readonly referenceYear: number;
  /** Zone of stamps that have none, in minutes east of UTC; null: the local zone. */
  readonly utcOffsetMinutes: number | null;
}

export interface SyslogPrefix {
  readonly format: 'syslog' | 'exim';
  readonly tsMicros: number;
  readonly yearless: boolean;
  readonly host: string | null;
  /** `postfix/smtpd`, `exim4`...; null for Exim's own log. */
  readonly program: string | null;
  readonly pid: number | null;
  /** The text after the prefix. */
  readonly text: string;
}

const MONTHS: Readonly<Record<string, number>> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

const BSD =
  /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))? (\S+) ([^\s[:]+)(?:\[(\d+)\])?: ?/;
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})? (\S+) ([^\s[:]+)(?:\[(\d+)\])?: ?/;
const EXIM =
  /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?: ([+-]\d{4}))?(?: \[(\d+)\])? /;

/** Microseconds from a fraction's digits ("123" → 123000). */
function fraction(digits: string | undefined): number {
  if (digits === undefined) return 0;
  return Number(digits.slice(0, 6).padEnd(6, '0'));
}

/** Minutes east of UTC of `Z`, `+01:00`, `-0530`. */
function zoneMinutes(zone: string): number {
  if (zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
}

function micros(
  parts: readonly [number, number, number, number, number, number],
  frac: number,
  offsetMinutes: number | null,
): number {
  const [y, mo, d, h, mi, s] = parts;
  const ms =
    offsetMinutes === null
      ? new Date(y, mo, d, h, mi, s).getTime()
      : Date.UTC(y, mo, d, h, mi, s) - offsetMinutes * 60_000;
  return ms * 1000 + frac;
}

function validDate(mo: number, d: number, h: number, mi: number, s: number): boolean {
  return mo >= 0 && mo <= 11 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && s <= 60;
}

/**
 * The time of an ISO or Exim stamp: groups 1-6 year to second, 7 the fraction, 8 the zone (absent: the
 * configured offset); null when a field is out of range.
 */
function numericStamp(m: RegExpExecArray, options: PrefixOptions): number | null {
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (!validDate(mo - 1, d, h, mi, s)) return null;
  const zone = m[8] === undefined ? options.utcOffsetMinutes : zoneMinutes(m[8]);
  return micros([y, mo - 1, d, h, mi, s], fraction(m[7]), zone);
}

/** The prefix of `line`, or null when it has none of the formats above. */
export function parseLogPrefix(line: string, options: PrefixOptions): SyslogPrefix | null {
  let m = BSD.exec(line);
  if (m !== null) {
    const mo = MONTHS[m[1] ?? ''];
    const [d, h, mi, s] = [Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])];
    if (mo === undefined || !validDate(mo, d, h, mi, s)) return null;
    return {
      format: 'syslog',
      tsMicros: micros([options.referenceYear, mo, d, h, mi, s], fraction(m[6]), options.utcOffsetMinutes),
      yearless: true,
      host: m[7] ?? null,
      program: m[8] ?? null,
      pid: m[9] === undefined ? null : Number(m[9]),
      text: line.slice(m[0].length),
    };
  }
  m = ISO.exec(line);
  if (m !== null) {
    const tsMicros = numericStamp(m, options);
    if (tsMicros === null) return null;
    return {
      format: 'syslog',
      tsMicros,
      yearless: false,
      host: m[9] ?? null,
      program: m[10] ?? null,
      pid: m[11] === undefined ? null : Number(m[11]),
      text: line.slice(m[0].length),
    };
  }
  m = EXIM.exec(line);
  if (m !== null) {
    const tsMicros = numericStamp(m, options);
    if (tsMicros === null) return null;
    return {
      format: 'exim',
      tsMicros,
      yearless: false,
      host: null,
      program: null,
      pid: m[9] === undefined ? null : Number(m[9]),
      text: line.slice(m[0].length),
    };
  }
  return null;
}
