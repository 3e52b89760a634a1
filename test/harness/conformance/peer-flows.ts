/**
 * Peers that only say an SMTP flow was there: nDPI's flow list (`ndpiReader` output, `.out`) and Zeek's
 * conn.log (`service` smtp). Each such flow needs a smtpscope session; a missing one is a lost session, which no
 * expectation can accept. nDPI flows are matched by their two endpoints (either order); conn.log rows by their
 * endpoints when the baseline kept them, else by number (the btest baselines cut conn.log to a few columns).
 */

import type { SmtpSession } from '../../../src/model/types.js';
import { type Finding, finding } from './finding.js';
import { hasDialogue } from './session-views.js';
import type { ZeekRow } from './zeek-log.js';

export interface PeerFlow {
  readonly a: { readonly ip: string; readonly port: number };
  readonly b: { readonly ip: string; readonly port: number };
  /** The peer's protocol name, e.g. `SMTP`, `SMTPS`, `SMTPS.Google`. */
  readonly protocol: string;
}

const ENDPOINT = String.raw`(\[[0-9A-Fa-f:.]+\]|[0-9.]+):(\d+)`;
const FLOW_LINE = new RegExp(
  String.raw`^\s*\d+\s+TCP\s+${ENDPOINT}\s+<->\s+${ENDPOINT}\s.*?\[proto: [\d.]+\/([\w.]+)\]`,
);

/** nDPI's flow lines whose protocol is SMTP or SMTPS (with or without a sub-protocol). */
export function parseNdpiFlows(text: string): PeerFlow[] {
  const out: PeerFlow[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = FLOW_LINE.exec(line);
    if (m === null) continue;
    const protocol = m[5] ?? '';
    if (!/^SMTPS?(\.|$)/.test(protocol)) continue;
    const ip = (s: string): string => s.replace(/^\[|\]$/g, '');
    out.push({
      a: { ip: ip(m[1] ?? ''), port: Number(m[2]) },
      b: { ip: ip(m[3] ?? ''), port: Number(m[4]) },
      protocol,
    });
  }
  return out;
}

const sameEndpoint = (e: { ip: string; port: number }, f: { ip: string; port: number }): boolean =>
  e.port === f.port && e.ip.toLowerCase() === f.ip.toLowerCase();

function hasSession(sessions: readonly SmtpSession[], flow: PeerFlow): boolean {
  return sessions.some(
    (s) =>
      hasDialogue(s) &&
      ((sameEndpoint(s.client, flow.a) && sameEndpoint(s.server, flow.b)) ||
        (sameEndpoint(s.client, flow.b) && sameEndpoint(s.server, flow.a))),
  );
}

export function compareNdpi(
  capture: string,
  flows: readonly PeerFlow[],
  sessions: readonly SmtpSession[],
): Finding[] {
  const out = flows.map((f) => {
    const present = hasSession(sessions, f);
    return finding(
      capture,
      'ndpi',
      `${f.a.ip}:${f.a.port}<->${f.b.ip}:${f.b.port}.session`,
      present ? 'present' : 'absent',
      'present',
      present ? {} : { lostSession: true },
    );
  });
  const ours = new Set(
    sessions
      .filter(hasDialogue)
      .map((s) => `${s.client.ip}:${s.client.port}>${s.server.ip}:${s.server.port}`),
  );
  out.push(finding(capture, 'ndpi', 'flows', String(ours.size), String(flows.length)));
  return out;
}

/** Zeek conn.log rows whose service names smtp, each needing a smtpscope session. */
export function compareZeekConn(
  capture: string,
  rows: readonly ZeekRow[],
  sessions: readonly SmtpSession[],
): Finding[] {
  const smtp = rows.filter((r) => (r['service'] ?? '').split(',').includes('smtp'));
  const out: Finding[] = [];
  const dialogue = sessions.filter(hasDialogue);
  let unplaced = 0;
  for (const r of smtp) {
    const origin = r['id.orig_h'];
    if (origin === undefined || r['id.orig_p'] === undefined || r['id.resp_p'] === undefined) {
      unplaced++;
      continue;
    }
    const present = dialogue.some(
      (s) =>
        s.client.ip === origin &&
        String(s.client.port) === r['id.orig_p'] &&
        String(s.server.port) === r['id.resp_p'],
    );
    out.push(
      finding(
        capture,
        'zeek',
        `conn.${r['id.orig_p']}.session`,
        present ? 'present' : 'absent',
        'present',
        present ? {} : { lostSession: true },
      ),
    );
  }
  if (unplaced > 0) {
    const enough = dialogue.length >= smtp.length;
    out.push(
      finding(
        capture,
        'zeek',
        'conn.smtp-sessions',
        enough ? `at least ${smtp.length}` : String(dialogue.length),
        `at least ${smtp.length}`,
        enough ? {} : { lostSession: true },
      ),
    );
  }
  return out;
}
