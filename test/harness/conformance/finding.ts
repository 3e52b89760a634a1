/**
 * What one comparison with a peer produced. A finding is one field (or count) of one capture compared with one
 * peer's expected output; `agree` says whether smtpscope and the peer gave the same value.
 */

/** `ndpi`: nDPI's flow list (`.out`); `index`: the reference counts in the peer folder's INDEX.md. */
export type PeerName = 'zeek' | 'suricata' | 'arkime' | 'tshark' | 'ndpi' | 'index';

export interface Finding {
  /** Capture name, `<source dir>/<file>`. */
  readonly capture: string;
  readonly peer: PeerName;
  /** Stable name of the compared item, e.g. `C000001#1.mailfrom`, `cmd.RCPT`, `smtp-eve#2.count`. */
  readonly check: string;
  readonly ours: string;
  readonly theirs: string;
  readonly agree: boolean;
  /** The peer saw an SMTP session that smtpscope did not report (never acceptable). */
  readonly lostSession?: boolean;
  /**
   * The documented normalisation rule (docs/CONFORMANCE.md, "Normalisation rules") under which the values agree
   * although they differ as written: a known, explained peer behaviour, judged by rule rather than per capture.
   */
  readonly rule?: string;
}

export function finding(
  capture: string,
  peer: PeerName,
  check: string,
  ours: string,
  theirs: string,
  extra: { lostSession?: boolean; rule?: string } = {},
): Finding {
  return { capture, peer, check, ours, theirs, agree: ours === theirs, ...extra };
}

/** The address inside the last `<...>`, or the trimmed text when there are no angle brackets. */
export function bareAddress(text: string): string {
  const open = text.lastIndexOf('<');
  const close = text.lastIndexOf('>');
  if (open >= 0 && close > open) return text.slice(open + 1, close).trim();
  return text.trim();
}

/** A set of strings as one sorted, comma-joined value ('-' when empty). */
export function setValue(values: Iterable<string>): string {
  const list = [...new Set(values)].sort();
  return list.length === 0 ? '-' : list.join(',');
}
