/**
 * Stands between the assembler and the SMTP stream factory and keeps connection attempts (connection-attempts.ts)
 * out of the session path: a connection's SMTP handler, and with it its session model, is created at its first
 * data or gap. A connection that closes before either is judged by its flow statistics; an attempt is counted
 * and goes no further, anything else (a server that closed without a greeting) is handed to the SMTP handler
 * as usual, whose events are then exactly those of a handler made at the start (it emits nothing before its
 * first call).
 *
 * A connection waiting for its first byte costs this one small object: a SYN flood costs no decoder, no session
 * model and no delivery to the sinks. A connection that only sent SYNs and their answers costs not even that:
 * the assembler keeps it in its SYN table without asking for a handler, and hands its close here
 * (`closeUnopened`), judged from its handshake alone.
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
  UnopenedConnection,
} from '../reassembly/types.js';
import { attemptFate, handshakeFate } from './connection-attempts.js';

export interface AttemptGate extends StreamHandlerFactory {
  /** Connections handed to the gate that have neither carried a byte nor closed (not the SYN table's). */
  readonly waiting: number;
  closeUnopened(connection: UnopenedConnection, reason: CloseReason, tsMicros: number): void;
}

export interface AttemptListener {
  /** A connection closed as an attempt: its key and statistics. */
  attempt(flow: FlowKey, fate: AttemptFate, reason: CloseReason, stats: FlowStats): void;
  /** A connection of the assembler's SYN table closed as an attempt: valid during the call only. */
  unopened(connection: UnopenedConnection, fate: AttemptFate, reason: CloseReason): void;
}

export function createAttemptGate(inner: StreamHandlerFactory, listener: AttemptListener): AttemptGate {
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
          listener.attempt(this.flow, fate, reason, stats);
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
    closeUnopened(connection: UnopenedConnection, reason: CloseReason, tsMicros: number): void {
      // It never carried a byte: its handshake decides.
      const fate = handshakeFate(connection.sawSyn, connection.sawSynAck, connection.firstClose);
      if (fate !== null) {
        listener.unopened(connection, fate, reason);
        return;
      }
      // A session after all (the server closed first after the handshake): as a handler made at the start.
      inner
        .create(connection.flow(), connection.firstTsMicros)
        ?.onClose(reason, tsMicros, connection.stats());
    },
    get waiting(): number {
      return waiting;
    },
  };
}
