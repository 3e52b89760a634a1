/** Defaults for every SMTP decoder limit (docs/SMTP.md, "Limits"). */

import type { SmtpDecoderOptions } from './types.js';

export const DEFAULT_SMTP_DECODER_OPTIONS: SmtpDecoderOptions = Object.freeze({
  /** Postfix's line_length_limit is 2048 and Suricata's line buffer 4096; RFC 5321 asks for only 512. */
  maxLineLength: 4096,
  /** Zeek's hard-coded pending command queue size. */
  maxPendingCommands: 1000,
  implicitTls: false,
  lmtp: false,
  revealSecrets: false,
  maxHeldBytes: 65_536,
  maxReplyLines: 1000,
  maxBdatChunkBytes: 256 * 1024 * 1024,
  maxRecipients: 1000,
  maxTlsHelloBytes: 16_384,
  tlsDecryptors: null,
});

/** Options objects this module resolved: passed again (one per connection), they are used as they are. */
const RESOLVED = new WeakSet<object>();

export function resolveSmtpDecoderOptions(options?: Partial<SmtpDecoderOptions>): SmtpDecoderOptions {
  if (options === undefined) return DEFAULT_SMTP_DECODER_OPTIONS;
  if (RESOLVED.has(options)) return options as SmtpDecoderOptions;
  const resolved = Object.freeze({ ...DEFAULT_SMTP_DECODER_OPTIONS, ...options });
  RESOLVED.add(resolved);
  return resolved;
}
