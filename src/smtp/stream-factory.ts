/**
 * Creates one SMTP decoder per connection for the assembler. Port 465 (submissions) means TLS from the first
 * byte; port 24 means LMTP. Explicit options win over the port rules only when set to true.
 *
 * The decoder itself (two line splitters, the reply assembler, the dot decoder, the command queue: some
 * kilobytes) is created at the connection's first call: its first data, gap or close. A connection that
 * never carries a byte, such as each connection of a SYN flood, holds only a small placeholder until it
 * closes; the decoder then created gives exactly the events an eager one would have (it emits nothing before
 * its first call). `emitFor(flow)` is still called at once, so the session is known (open) from the start.
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
import { createSmtpDecoder } from './decoder.js';
import type { SmtpDecoderOptions, SmtpEvent } from './types.js';

export const IMPLICIT_TLS_PORT = 465;
export const LMTP_PORT = 24;

class LazySmtpHandler implements StreamHandler {
  private decoder: StreamHandler | null = null;

  constructor(
    private readonly flow: FlowKey,
    private readonly emit: (event: SmtpEvent) => void,
    private readonly options: Partial<SmtpDecoderOptions> | undefined,
  ) {}

  private open(): StreamHandler {
    const port = this.flow.server.port;
    const options = this.options;
    const decoder = createSmtpDecoder(this.flow, this.emit, {
      ...options,
      implicitTls: options?.implicitTls === true || port === IMPLICIT_TLS_PORT,
      lmtp: options?.lmtp === true || port === LMTP_PORT,
    });
    this.decoder = decoder;
    return decoder;
  }

  onData(chunk: StreamChunk): void {
    (this.decoder ?? this.open()).onData(chunk);
  }

  onGap(direction: Direction, offset: number, length: number, cause: GapCause, tsMicros: number): void {
    (this.decoder ?? this.open()).onGap(direction, offset, length, cause, tsMicros);
  }

  onClose(reason: CloseReason, tsMicros: number, stats: FlowStats): void {
    (this.decoder ?? this.open()).onClose(reason, tsMicros, stats);
  }
}

export function createSmtpStreamFactory(
  emitFor: (flow: FlowKey) => (event: SmtpEvent) => void,
  options?: Partial<SmtpDecoderOptions>,
): StreamHandlerFactory {
  return {
    create(flow: FlowKey): StreamHandler {
      return new LazySmtpHandler(flow, emitFor(flow), options);
    },
  };
}
