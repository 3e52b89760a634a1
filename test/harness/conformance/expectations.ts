/**
 * The accepted differences (test/conformance/expectations.json): each names a capture, a peer and a check, the two
 * values as they differ, and the reason the difference is accepted. A finding that disagrees is accepted only
 * when an entry matches it exactly (same values); an entry that matches no disagreeing finding is stale.
 */

import type { Finding, PeerName } from './finding.js';

export interface Expectation {
  readonly capture: string;
  readonly peer: PeerName;
  readonly check: string;
  readonly ours: string;
  readonly theirs: string;
  readonly reason: string;
}

export function parseExpectations(text: string): Expectation[] {
  const doc = JSON.parse(text) as unknown;
  if (doc === null || typeof doc !== 'object' || !('differences' in doc))
    throw new Error('expectations: the file has no "differences" list');
  const list = (doc as { differences: unknown }).differences;
  if (!Array.isArray(list)) throw new Error('expectations: "differences" must be a list');
  return list.map((entry, i) => {
    const e = entry as Partial<Record<keyof Expectation, unknown>>;
    for (const key of ['capture', 'peer', 'check', 'ours', 'theirs', 'reason'] as const) {
      if (typeof e[key] !== 'string' || e[key] === '')
        throw new Error(`expectations: entry ${i + 1} lacks "${key}"`);
    }
    return e as Expectation;
  });
}

const keyOf = (x: { capture: string; peer: string; check: string; ours: string; theirs: string }): string =>
  JSON.stringify([x.capture, x.peer, x.check, x.ours, x.theirs]);

export interface Judged {
  readonly finding: Finding;
  /** Null when the finding agrees or no entry accepts it. */
  readonly accepted: Expectation | null;
}

export function judge(
  findings: readonly Finding[],
  expectations: readonly Expectation[],
  capturesRun: ReadonlySet<string>,
): {
  judged: Judged[];
  stale: Expectation[];
} {
  const byKey = new Map(expectations.map((e) => [keyOf(e), e]));
  const used = new Set<string>();
  const judged = findings.map((f) => {
    if (f.agree) return { finding: f, accepted: null };
    const e = byKey.get(keyOf(f)) ?? null;
    if (e !== null && f.lostSession !== true) used.add(keyOf(e));
    return { finding: f, accepted: f.lostSession === true ? null : e };
  });
  const stale = expectations.filter((e) => capturesRun.has(e.capture) && !used.has(keyOf(e)));
  return { judged, stale };
}
