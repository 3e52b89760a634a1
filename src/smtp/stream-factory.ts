/**
 * Creates one SMTP decoder per connection for the assembler. Port 465 (submissions) means TLS from the first
 * byte; port 24 means LMTP. Explicit options win over the port rules only when set to true.
 *
 * The decoder itself (two line splitters, the reply assembler, the dot decoder, the command queue: some
 * kilobytes) is created at the connection's first call: its first data, gap or close. A connection that
 * never carries a byte, such as each connection of a SYN flood, holds only a small placeholder until it
 * closes; the decoder then created gives exactly the events an eager one would have (it calls nothing before
 * its first call). `handlerFor(flow)` is still called at once, so the session is known (open) from the start.
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
import { SmtpDialogue } from './dialogue/dialogue.js';
import { resolveSmtpDecoderOptions } from './options.js';
import type { SmtpDecoderOptions, SmtpHandler } from './types.js';

export const IMPLICIT_TLS_PORT = 465;
export const LMTP_PORT = 24;

class LazySmtpHandler implements StreamHandler {
  private decoder: StreamHandler | null = null;

  constructor(
    private readonly flow: FlowKey,
    private readonly out: SmtpHandler,
    private readonly options: ResolvedOptions,
  ) {}

  private open(): StreamHandler {
    const port = this.flow.server.port;
    const decoder = new SmtpDialogue(this.flow, this.out, this.options.forPort(port));
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

/** The options resolved once per factory, in the four variants the port rules give (not per connection). */
class ResolvedOptions {
  private readonly variants: SmtpDecoderOptions[];

  constructor(options: Partial<SmtpDecoderOptions> | undefined) {
    const base = resolveSmtpDecoderOptions(options);
    const make = (implicitTls: boolean, lmtp: boolean): SmtpDecoderOptions =>
      resolveSmtpDecoderOptions({
        ...base,
        implicitTls: base.implicitTls || implicitTls,
        lmtp: base.lmtp || lmtp,
      });
    this.variants = [make(false, false), make(true, false), make(false, true), make(true, true)];
  }

  forPort(port: number): SmtpDecoderOptions {
    const index = (port === IMPLICIT_TLS_PORT ? 1 : 0) + (port === LMTP_PORT ? 2 : 0);
    return this.variants[index] as SmtpDecoderOptions;
  }
}

export function createSmtpStreamFactory(
  handlerFor: (flow: FlowKey) => SmtpHandler,
  options?: Partial<SmtpDecoderOptions>,
): StreamHandlerFactory {
  const resolved = new ResolvedOptions(options);
  return {
    create(flow: FlowKey): StreamHandler {
      return new LazySmtpHandler(flow, handlerFor(flow), resolved);
    },
  };
}
