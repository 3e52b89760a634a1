/**
 * The NDJSON lines that are not sessions, written with `--connection-attempts` (docs/JSON.md): one per connection
 * attempt (`event.dataset` `smtpscope.connection_attempt`) as it closes, and one run record at the end
 * (`smtpscope.run`) with the attempt counts by fate and address, the sources' packet, drop and cut counts and
 * the input warnings. Consumers tell them from sessions (`smtpscope.session`) by `event.dataset`.
 */

import { type ConnectionAttempt, TOP_ADDRESSES } from '../model/connection-attempt.js';
import type { RunSummary } from '../model/sink.js';
import { formatIsoMicros } from './iso-micros.js';

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

export function toRunDocument(summary: RunSummary) {
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
