/**
 * The SMTP decoder's handler for one connection in the analyzer: it makes the session model at the decoder's first
 * call (a connection whose decoder never speaks makes none), passes every call on to it, and the message calls to
 * the body listener too. After `closed` the model is handed to the host and let go; later calls are ignored.
 */

import type { SessionBuilder } from '../model/session-builder.js';
import type { MessageBodyListener } from '../model/sink.js';
import type { CloseReason, Direction, FlowKey, FlowStats } from '../reassembly/types.js';
import type {
  AnomalyCode,
  AuthOutcome,
  SkippedReply,
  SmtpCommand,
  SmtpHandler,
  SmtpReply,
  SmtpState,
  TlsHello,
} from '../smtp/types.js';
import type { TlsDecryptionStatus } from '../tls/types.js';

/** Where the connection's session model comes from and goes to. */
export interface SessionHost {
  /** The decoder's first call on `flow`: makes (and keeps track of) its session model. */
  open(flow: FlowKey): SessionBuilder;
  /** `closed` was called: the model is complete. */
  close(flow: FlowKey, builder: SessionBuilder): void;
}

export class ConnectionHandler implements SmtpHandler {
  private builder: SessionBuilder | null = null;
  private done = false;
  /** MAIL commands so far (the body listener's transaction depth). */
  private depth = 0;
  /** A message-start reached the body listener and its message-end has not. */
  private inMessage = false;

  constructor(
    private readonly flow: FlowKey,
    private readonly host: SessionHost,
    private readonly body: MessageBodyListener | undefined,
  ) {}

  /** The session model, made at the first call; null once closed. */
  private model(): SessionBuilder | null {
    const builder = this.builder;
    if (builder !== null || this.done) return builder;
    const made = this.host.open(this.flow);
    this.builder = made;
    return made;
  }

  command(command: SmtpCommand): void {
    const model = this.model();
    if (model === null) return;
    model.command(command);
    if (this.body !== undefined && command.verb === 'MAIL') this.depth++;
  }

  greeting(reply: SmtpReply): void {
    this.model()?.greeting(reply);
  }

  reply(reply: SmtpReply, command: SmtpCommand): void {
    this.model()?.reply(reply, command);
  }

  endOfDataReply(
    reply: SmtpReply,
    mode: 'DATA' | 'BDAT',
    lmtpRecipient: number | null,
    transaction: number | null,
  ): void {
    this.model()?.endOfDataReply(reply, mode, lmtpRecipient, transaction);
  }

  unmatchedReply(reply: SmtpReply): void {
    this.model()?.unmatchedReply(reply);
  }

  state(from: SmtpState, to: SmtpState, tsMicros: number): void {
    this.model()?.state(from, to, tsMicros);
  }

  messageStart(mode: 'DATA' | 'BDAT', transaction: number | null, tsMicros: number): void {
    const model = this.model();
    if (model === null) return;
    model.messageStart(mode, transaction, tsMicros);
    const body = this.body;
    if (body !== undefined && !this.inMessage) {
      this.inMessage = true;
      body.messageStart(this.flow.id, Math.max(this.depth, 1), mode);
    }
  }

  messageBytes(bytes: Uint8Array): void {
    const model = this.model();
    if (model === null) return;
    model.messageBytes(bytes);
    const body = this.body;
    if (body !== undefined && this.inMessage) body.messageBytes(this.flow.id, Math.max(this.depth, 1), bytes);
  }

  messageEnd(
    transaction: number | null,
    sizeBytes: number,
    complete: boolean,
    awaitsReply: boolean,
    tsMicros: number,
  ): void {
    const model = this.model();
    if (model === null) return;
    model.messageEnd(transaction, sizeBytes, complete, awaitsReply, tsMicros);
    const body = this.body;
    if (body !== undefined && this.inMessage) {
      this.inMessage = false;
      body.messageEnd(this.flow.id, Math.max(this.depth, 1), complete);
    }
  }

  bdatChunk(transaction: number | null, sizeBytes: number, last: boolean, tsMicros: number): void {
    this.model()?.bdatChunk(transaction, sizeBytes, last, tsMicros);
  }

  tlsStart(mode: 'starttls' | 'implicit', tsMicros: number): void {
    this.model()?.tlsStart(mode, tsMicros);
  }

  tlsHello(hello: TlsHello, tsMicros: number): void {
    this.model()?.tlsHello(hello, tsMicros);
  }

  tlsBytes(direction: Direction, length: number): void {
    this.model()?.tlsBytes(direction, length);
  }

  auth(
    mechanism: string,
    username: string | null,
    secret: string | null,
    outcome: AuthOutcome,
    tsMicros: number,
  ): void {
    this.model()?.auth(mechanism, username, secret, outcome, tsMicros);
  }

  rolesSwapped(tsMicros: number): void {
    this.model()?.rolesSwapped(tsMicros);
  }

  proxy(
    protocol: 'socks4' | 'socks5' | 'http-connect',
    target: string | null,
    accepted: boolean | null,
    tsMicros: number,
  ): void {
    this.model()?.proxy(protocol, target, accepted, tsMicros);
  }

  tlsDecryption(status: TlsDecryptionStatus, tsMicros: number): void {
    this.model()?.tlsDecryption(status, tsMicros);
  }

  gap(direction: Direction, length: number, tsMicros: number): void {
    this.model()?.gap(direction, length, tsMicros);
  }

  anomaly(
    code: AnomalyCode,
    direction: Direction | null,
    detail: string,
    offset: number | null,
    tsMicros: number,
    skipped: SkippedReply | null,
  ): void {
    this.model()?.anomaly(code, direction, detail, offset, tsMicros, skipped);
  }

  closed(reason: CloseReason, tsMicros: number, stats: FlowStats): void {
    const model = this.model();
    if (model === null) return;
    model.closed(reason, tsMicros, stats);
    // Let go of the session model now, so that it lives only until delivered.
    this.builder = null;
    this.done = true;
    this.host.close(this.flow, model);
  }
}
