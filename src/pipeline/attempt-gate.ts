/**
 * Stands between the assembler and the SMTP stream factory and keeps connection attempts (connection-attempts.ts)
 * out of the session path: a connection's SMTP handler, and with it its session model, is created at its first
 * data or gap. A connection that closes before either is judged by its flow statistics; an attempt is counted
 * and goes no further, anything else (a server that closed without a greeting) is handed to the SMTP handler
 * as usual, whose events are then exactly those of a handler made at the start (it emits nothing before its
 * first call).
 *
 * A connection waiting for its first byte costs this one small object: a SYN flood costs no decoder, no session
 * model and no delivery to the sinks.
 */

import type { AttemptFate } from '../model/connection-attempt.js';
import type {
  CloseReason,
  Direction,
  FlowKey,
  FlowStats,
  GapCause,
  StreamChunk,
  StreamHandler,
  StreamHandlerFactory,
} from '../reassembly/types.js';
import { attemptFate } from './connection-attempts.js';

export interface AttemptGate extends StreamHandlerFactory {
  /** Connections seen that have neither carried a byte nor closed. */
  readonly waiting: number;
}

export type AttemptListener = (
  flow: FlowKey,
  fate: AttemptFate,
  reason: CloseReason,
  stats: FlowStats,
) => void;

export function createAttemptGate(inner: StreamHandlerFactory, onAttempt: AttemptListener): AttemptGate {
  let waiting = 0;

  class GatedHandler implements StreamHandler {
    private handler: StreamHandler | null = null;
    private state: 'waiting' | 'open' | 'dropped' = 'waiting';

    constructor(
      private readonly flow: FlowKey,
      private readonly startMicros: number,
    ) {}

    private open(): StreamHandler | null {
      if (this.state === 'waiting') {
        waiting--;
        this.handler = inner.create(this.flow, this.startMicros);
        this.state = this.handler === null ? 'dropped' : 'open';
      }
      return this.handler;
    }

    onData(chunk: StreamChunk): void {
      (this.handler ?? this.open())?.onData(chunk);
    }

    onGap(direction: Direction, offset: number, length: number, cause: GapCause, tsMicros: number): void {
      (this.handler ?? this.open())?.onGap(direction, offset, length, cause, tsMicros);
    }

    onClose(reason: CloseReason, tsMicros: number, stats: FlowStats): void {
      if (this.state === 'waiting') {
        const fate = attemptFate(stats);
        if (fate !== null) {
          waiting--;
          this.state = 'dropped';
          onAttempt(this.flow, fate, reason, stats);
          return;
        }
      }
      (this.handler ?? this.open())?.onClose(reason, tsMicros, stats);
    }
  }

  return {
    create(flow: FlowKey, tsMicros: number): StreamHandler {
      waiting++;
      return new GatedHandler(flow, tsMicros);
    },
    get waiting(): number {
      return waiting;
    },
  };
}
