/**
 * The TLS layer of a dialogue once TLS has started (a 220 to STARTTLS, or implicit TLS): every wire byte is
 * counted (`tls-bytes`) and the hellos are read (`tls-hello`). With a decryptor factory (`tlsDecryptors`, a key
 * log was given) the wire bytes of both directions also go to a decryptor for this flow; its plaintext goes back
 * to the dialogue, which reads it in line mode after restarting the SMTP state (RFC 3207 4.2), its status
 * changes become `tls-decryption` events, and a plaintext gap is read like a capture gap. Without one, TLS stays
 * opaque.
 */

import type { Direction, FlowKey } from '../../reassembly/types.js';
import type { TlsDecryptor, TlsDecryptorCallbacks } from '../../tls/types.js';
import { createTlsHelloParser, type TlsHelloParser } from '../tls-hello.js';
import type { SmtpDecoderOptions, SmtpHandler } from '../types.js';
import type { SmtpDialogue } from './dialogue.js';
import { feedPlaintext, plaintextGap, restartInsideTls } from './tls-start.js';

export class TlsLayer {
  private readonly c2s: TlsHelloParser;
  private readonly s2c: TlsHelloParser;
  private decryptor: TlsDecryptor | null = null;
  /** Offsets in each direction's plaintext stream. */
  private plainC2s = 0;
  private plainS2c = 0;
  private restarted = false;
  private tsNow = 0;

  constructor(
    private readonly dialogue: SmtpDialogue,
    private readonly out: SmtpHandler,
    private readonly opts: SmtpDecoderOptions,
    clientDir: Direction,
  ) {
    this.c2s = this.parser('c2s', clientDir);
    this.s2c = this.parser('s2c', clientDir);
  }

  private parser(direction: Direction, clientDir: Direction): TlsHelloParser {
    return createTlsHelloParser({
      side: direction === clientDir ? 'client' : 'server',
      maxBytes: this.opts.maxTlsHelloBytes,
      onHello: (hello) => this.out.tlsHello(hello, this.tsNow),
      onNotTls: (detail) => this.dialogue.anomaly('tls-not-tls', direction, detail, null, this.tsNow),
    });
  }

  /** Creates the decryptor when keys are given. */
  start(flow: FlowKey, ts: number): void {
    this.tsNow = ts;
    const factory = this.opts.tlsDecryptors;
    if (factory === null) return;
    const callbacks: TlsDecryptorCallbacks = {
      onPlaintext: (direction, bytes, tsMicros) => this.plaintext(direction, bytes, tsMicros),
      onHello: () => {
        // The layer's own parsers read the same hellos from the wire; one report is enough.
      },
      onStatus: (status, tsMicros) => this.out.tlsDecryption(status, tsMicros),
      onPlaintextGap: (direction, tsMicros) => {
        if (this.restarted) plaintextGap(this.dialogue, direction, tsMicros);
      },
    };
    this.decryptor = factory.create(flow, callbacks);
  }

  get decrypting(): boolean {
    return this.decryptor !== null;
  }

  wire(direction: Direction, bytes: Uint8Array, ts: number): void {
    this.tsNow = ts;
    const parser = direction === 'c2s' ? this.c2s : this.s2c;
    if (!parser.done) parser.push(bytes);
    this.out.tlsBytes(direction, bytes.length);
    if (this.decryptor !== null) this.decryptor.push(direction, bytes, ts);
  }

  wireGap(direction: Direction, length: number, ts: number): void {
    this.tsNow = ts;
    if (this.decryptor !== null) this.decryptor.gap(direction, length, ts);
  }

  close(ts: number): void {
    this.tsNow = ts;
    const decryptor = this.decryptor;
    if (decryptor === null) return;
    this.decryptor = null;
    decryptor.close(ts);
  }

  private plaintext(direction: Direction, bytes: Uint8Array, ts: number): void {
    if (bytes.length === 0) return;
    if (!this.restarted) {
      this.restarted = true;
      restartInsideTls(this.dialogue, ts);
    }
    const offset = direction === 'c2s' ? this.plainC2s : this.plainS2c;
    if (direction === 'c2s') this.plainC2s += bytes.length;
    else this.plainS2c += bytes.length;
    feedPlaintext(this.dialogue, direction, bytes, offset, ts);
  }
}
