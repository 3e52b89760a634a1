/**
 * The NDJSON lines that are not sessions, written with `--connection-attempts` (docs/JSON.md): one per connection
 * attempt (`event.dataset` `smtpscope.connection_attempt`) as it closes, and one run record at the end
 * (`smtpscope.run`) with the attempt counts by fate and address, the sources' packet, drop and cut counts, the
 * sessions by TLS decryption outcome and the input warnings. Consumers tell them from sessions
 * (`smtpscope.session`) by `event.dataset`.
 */

import { type ConnectionAttempt, TOP_ADDRESSES } from '../model/connection-attempt.js';
import type { RunSummary } from '../model/sink.js';
import { type TlsDecryptionKind, tlsDecryptionOf } from '../model/tls-decryption.js';
import type { SmtpSession } from '../model/types.js';
import { formatIsoMicros } from './iso-micros.js';

/**
 * Sessions by TLS decryption outcome, counting only those whose decryption was tried (key material was known
 * when their TLS started); `pending`: no verdict when the session ended.
 */
export type TlsDecryptionTotals = Record<TlsDecryptionKind, number>;

export interface TlsDecryptionCounter {
  add(session: SmtpSession): void;
  readonly totals: TlsDecryptionTotals;
}

export function createTlsDecryptionCounter(): TlsDecryptionCounter {
  const totals: TlsDecryptionTotals = {
    decrypted: 0,
    'no-key': 0,
    'bad-key': 0,
    unsupported: 0,
    'not-tls': 0,
    incomplete: 0,
    pending: 0,
  };
  return {
    add(session) {
      const status = tlsDecryptionOf(session.tls);
      if (status !== null) totals[status.kind]++;
    },
    totals,
  };
}

export function toAttemptDocument(a: ConnectionAttempt) {
  return {
    '@timestamp': formatIsoMicros(a.firstTsMicros),
    event: {
      kind: 'event',
      category: ['network'],
      type: ['connection'],
      module: 'smtpscope',
      dataset: 'smtpscope.connection_attempt',
      start: formatIsoMicros(a.firstTsMicros),
      end: formatIsoMicros(a.lastTsMicros),
      duration: (a.lastTsMicros - a.firstTsMicros) * 1000,
      outcome: 'failure',
    },
    source: { ip: a.client.ip, port: a.client.port, packets: a.packetsC2s },
    destination: { ip: a.server.ip, port: a.server.port, packets: a.packetsS2c },
    network: { transport: 'tcp' },
    smtp: { connection_id: a.id, attempt_fate: a.fate, close_reason: a.closeReason },
  };
}

export function toRunDocument(summary: RunSummary, decryption: TlsDecryptionTotals) {
  const stats = summary.stats;
  const attempts = stats.attempts;
  const last = stats.lastTsMicros;
  return {
    '@timestamp': last === null ? null : formatIsoMicros(last),
    event: {
      kind: 'metric',
      category: ['network'],
      type: ['info'],
      module: 'smtpscope',
      dataset: 'smtpscope.run',
      start: stats.firstTsMicros === null ? null : formatIsoMicros(stats.firstTsMicros),
      end: last === null ? null : formatIsoMicros(last),
    },
    smtp: {
      run: {
        sources: summary.sources.map((s) => s.description),
        packets: stats.source.packets,
        bytes: stats.source.bytes,
        /** null: the input cannot tell (a pipe, or live capture through `cap`). */
        dropped: stats.source.dropped,
        truncated: stats.source.truncated,
        sessions: stats.sessionsClosed,
        tls_decryption: {
          decrypted: decryption.decrypted,
          no_key: decryption['no-key'],
          bad_key: decryption['bad-key'],
          unsupported: decryption.unsupported,
          not_tls: decryption['not-tls'],
          incomplete: decryption.incomplete,
          pending: decryption.pending,
        },
        attempts: {
          total: attempts.total,
          by_fate: attempts.byFate,
          servers: attempts.servers.slice(0, TOP_ADDRESSES),
          clients: attempts.clients.slice(0, TOP_ADDRESSES),
          approximate: attempts.approximate,
        },
        warnings: summary.warnings.map((w) => ({
          code: w.code,
          byte_offset: w.byteOffset,
          packets_before: w.packetsBefore,
          message: w.message,
        })),
      },
    },
  };
}
