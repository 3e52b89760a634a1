/**
 * Lets go of each connection's stream handler once the connection has closed.
 *
 * The assembler keeps a closed connection in its table for `closedLingerMs` (30 s by default, packet time) to
 * absorb late retransmissions and ACKs, and the connection keeps its handler. For SMTP the handler is the
 * decoder, and behind it the session builder: line buffers, the command queue, the whole session model. On a
 * busy server that is every session of the last 30 seconds held in memory for nothing (measured: about
 * 25 KB per session, see docs/LIVE.md "Soak"). The wrapper forwards every call to the real handler until
 * onClose, then drops it; a closed connection then costs the assembler only its own small bookkeeping.
 */

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

class ReleasingHandler implements StreamHandler {
  private inner: StreamHandler | null;

  constructor(inner: StreamHandler) {
    this.inner = inner;
  }

  onData(chunk: StreamChunk): void {
    if (this.inner !== null) this.inner.onData(chunk);
  }

  onGap(direction: Direction, offset: number, length: number, cause: GapCause, tsMicros: number): void {
    if (this.inner !== null) this.inner.onGap(direction, offset, length, cause, tsMicros);
  }

  onClose(reason: CloseReason, tsMicros: number, stats: FlowStats): void {
    const inner = this.inner;
    this.inner = null;
    if (inner !== null) inner.onClose(reason, tsMicros, stats);
  }
}

/** Wraps `factory` so that every handler it creates is released when its connection closes. */
export function releaseOnClose(factory: StreamHandlerFactory): StreamHandlerFactory {
  return {
    create(flow: FlowKey, tsMicros: number): StreamHandler | null {
      const handler = factory.create(flow, tsMicros);
      return handler === null ? null : new ReleasingHandler(handler);
    },
  };
}
