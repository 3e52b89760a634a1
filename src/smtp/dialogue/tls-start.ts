/**
 * Where TLS starts (docs/SMTP.md, "TLS"): STARTTLS accepted (decided by the first byte after the 220 in
 * `tls-pending` mode) or implicit TLS; with a decryptor, the dialogue restarts inside TLS on the plaintext.
 */

import type { Direction } from '../../reassembly/types.js';
import { finishAuth } from './auth-steps.js';
import type { SmtpDialogue } from './dialogue.js';
import { lineGap } from './gap-recovery.js';
import { endMessage } from './messages.js';
import { TlsLayer } from './tls-layer.js';

export const TLS_HANDSHAKE = 0x16;
/** A TLS handshake record header: type 22, version 3.x. */
export function isClientHelloStart(bytes: Uint8Array): boolean {
  return bytes[0] === TLS_HANDSHAKE && (bytes.length < 2 || bytes[1] === 3);
}

export function startTls(d: SmtpDialogue, how: 'starttls' | 'implicit', ts: number): void {
  if (d.tls !== null) return;
  endMessage(d, false, ts);
  finishAuth(d, 'unknown', ts);
  d.clearPending();
  d.tls = new TlsLayer(d, d.out, d.opts, d.cmdDir);
  d.mode = 'tls';
  d.out.tlsStart(how, ts);
  d.setState('tls', ts);
  d.tls.start(d.flow, ts);
}

/**
 * Decrypted bytes follow (the TLS layer has a decryptor): the SMTP state restarts (RFC 3207 4.2: the client
 * sends EHLO again; the greeting is not repeated) and the plaintext is read in line mode like clear text.
 */
export function restartInsideTls(d: SmtpDialogue, ts: number): void {
  d.encrypted = true;
  d.assembler.encrypted = true;
  d.mode = 'lines';
  d.c2sLines.reset();
  d.s2cLines.reset();
  d.assembler.reset();
  d.heloAccepted = false;
  d.pipelining = null;
  d.tx.reset();
  d.setState('ready', ts);
}

/** Plaintext from the decryptor, in stream order per direction. */
export function feedPlaintext(
  d: SmtpDialogue,
  direction: Direction,
  bytes: Uint8Array,
  offset: number,
  ts: number,
): void {
  if (d.closed) return;
  d.readingPlaintext = true;
  try {
    d.feed(direction, bytes, offset, ts);
  } finally {
    d.readingPlaintext = false;
  }
}

/** The decrypted stream of a direction lost bytes: read it like a capture gap. */
export function plaintextGap(d: SmtpDialogue, direction: Direction, ts: number): void {
  if (d.closed) return;
  d.out.gap(direction, 0, ts);
  d.readingPlaintext = true;
  try {
    lineGap(d, direction, 0, 0, ts);
  } finally {
    d.readingPlaintext = false;
  }
}

/** The first byte after a 220 to STARTTLS: TLS starts, or both directions stay clear text. */
export function decideTls(
  d: SmtpDialogue,
  direction: Direction,
  firstByte: number,
  offset: number,
  ts: number,
): void {
  const since = d.tlsPendingSince;
  d.mode = 'lines';
  // Client: a handshake record (0x16); server: any TLS record type (0x14-0x17), e.g. an alert.
  const client = direction === d.cmdDir;
  const isTls = client ? firstByte === TLS_HANDSHAKE : firstByte >= 0x14 && firstByte <= 0x17;
  if (isTls) {
    startTls(d, 'starttls', since);
    return;
  }
  d.anomaly(
    'tls-not-tls',
    direction,
    `${client ? 'client' : 'server'} sent clear text after the 220 to STARTTLS, no TLS record; read as clear text`,
    offset,
    ts,
  );
}
