/** A finished run as the dashboard's view model sees it, for the dashboard's model tests. */

import { NO_OPEN_SESSIONS, type RunView } from '../../src/dashboard/view-model.js';
import { NO_ATTEMPTS } from '../../src/model/connection-attempt.js';
import type { RunStats } from '../../src/model/sink.js';

export const STATS = {
  source: { packets: 0, bytes: 0, storedBytes: 0, dropped: 0, truncated: 0 },
  decode: { packets: 0, tcp: 0, skipped: {}, malformed: {}, fragments: 0 } as unknown as RunStats['decode'],
  assembler: {} as RunStats['assembler'],
  sessionsClosed: 0,
  sessionsOpen: 0,
  firstTsMicros: null,
  lastTsMicros: null,
  attempts: NO_ATTEMPTS,
} as unknown as RunStats;

export function runView(overrides: Partial<RunView> = {}): RunView {
  return {
    live: false,
    title: 't',
    phase: 'finished',
    stats: STATS,
    open: NO_OPEN_SESSIONS,
    elapsedMs: 1,
    packetsPerSecond: 0,
    bytesPerSecond: 0,
    error: null,
    inputBytes: null,
    ...overrides,
  };
}
