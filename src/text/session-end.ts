/**
 * How a session ended, said for people. A session whose dialogue went encrypted (STARTTLS, or TLS from the
 * first byte) and was not decrypted ends without QUIT as far as the capture shows (`fin-without-quit`, `rst`),
 * which reads as a fault; what really happened is that the rest was not visible.
 */

import type { SmtpSession } from '../model/types.js';

/** The dialogue after TLS began is not in the session (encrypted and not decrypted). */
export function dialogueHidden(s: SmtpSession): boolean {
  if (s.tls.mode === 'implicit') return s.commands.length === 0;
  if (s.tls.mode !== 'starttls') return false;
  const last = s.commands[s.commands.length - 1];
  // Decrypted, the commands sent inside TLS follow the STARTTLS.
  return last !== undefined && last.verb.toUpperCase() === 'STARTTLS' && last.reply?.code === 220;
}

/** The end of a session in words: "encrypted after STARTTLS: dialogue not visible", else its end. */
export function endDescription(s: SmtpSession): string {
  if (!dialogueHidden(s)) return s.end;
  return s.tls.mode === 'implicit'
    ? 'encrypted from the start (implicit TLS): dialogue not visible'
    : 'encrypted after STARTTLS: dialogue not visible';
}
