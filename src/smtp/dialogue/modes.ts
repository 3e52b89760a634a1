/**
 * What the next bytes of the command side mean: the one state that routes them (docs/SMTP.md, "Modes").
 *
 * - `lines`: commands, framed by the line splitter (BDAT octets are handed out by the splitter's plain delivery).
 * - `data`: a DATA body, read by the dot decoder up to the final dot.
 * - `bdat`: the octets of a BDAT chunk are being read (the splitter's plain delivery), commands after them.
 * - `auth`: the next client line is an AUTH response (after a 334, or assumed when no reply is seen).
 * - `tls-pending`: a 220 answered STARTTLS and nothing was seen since: the next byte either way decides.
 * - `tls`: TLS records, opaque (hellos read, bytes counted) or handed to a decryptor whose plaintext is read in
 *   line mode by an inner dialogue.
 * - `gap-recovery`: after a gap, client lines are skipped until one looks like a command (or a lone dot).
 * - `proxy-preamble`: a SOCKS or HTTP CONNECT exchange before the SMTP greeting (not decoded yet).
 */
export type DialogueMode =
  | 'lines'
  | 'data'
  | 'bdat'
  | 'auth'
  | 'tls-pending'
  | 'tls'
  | 'gap-recovery'
  | 'proxy-preamble';
