/**
 * What a run reports about connection attempts (TCP connections on the SMTP ports that carried no payload byte):
 * their fates, one attempt's record and the per-address counts. The counting itself is the pipeline's
 * (pipeline/connection-attempts.ts); the outputs (summary, dashboard, NDJSON run record) read these types.
 */

import type { CloseReason, FlowKey } from '../reassembly/types.js';

export const ATTEMPT_FATES = ['unanswered', 'refused', 'client-closed', 'silent', 'midstream'] as const;
export type AttemptFate = (typeof ATTEMPT_FATES)[number];

/** Addresses listed per table in the summary and the run record. */
export const TOP_ADDRESSES = 10;

/** One connection attempt, as written with `--connection-attempts`. */
export interface ConnectionAttempt {
  readonly id: string;
  readonly client: FlowKey['client'];
  readonly server: FlowKey['server'];
  readonly fate: AttemptFate;
  readonly closeReason: CloseReason;
  readonly firstTsMicros: number;
  readonly lastTsMicros: number;
  readonly packetsC2s: number;
  readonly packetsS2c: number;
}

export interface AddressCount {
  readonly address: string;
  readonly count: number;
}

/** What the run reports about attempts (summary, dashboard, run record). Plain data: crosses threads. */
export interface AttemptStats {
  readonly total: number;
  readonly byFate: Readonly<Record<AttemptFate, number>>;
  /**
   * Servers and clients by attempts, most first (ties by address): every address counted, at most
   * ADDRESS_SLOTS (pipeline/connection-attempts.ts) each, so that several threads' counts add up exactly; reports show the first
   * {@link TOP_ADDRESSES}.
   */
  readonly servers: readonly AddressCount[];
  readonly clients: readonly AddressCount[];
  /** More distinct addresses than ADDRESS_SLOTS (pipeline/connection-attempts.ts) were seen: the counts are lower bounds. */
  readonly approximate: boolean;
}

export const NO_ATTEMPTS: AttemptStats = {
  total: 0,
  byFate: { unanswered: 0, refused: 0, 'client-closed': 0, silent: 0, midstream: 0 },
  servers: [],
  clients: [],
  approximate: false,
};
