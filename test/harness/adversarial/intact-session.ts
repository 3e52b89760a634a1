/**
 * The one normal SMTP session mixed into every adversarial capture: greeting, EHLO, MAIL, two RCPTs (both
 * accepted), DATA with a short message, QUIT, and a clean TCP close. Tests find it by its client port and
 * check that its recipients come out right whatever surrounds it.
 */

import { ipv4, TcpConversation } from './frames.js';

export const INTACT_CLIENT_IP = '192.0.2.200';
export const INTACT_CLIENT_PORT = 41_000;
export const INTACT_SERVER_IP = '198.51.100.25';
export const INTACT_SENDER = 'alice@example.org';
export const INTACT_RECIPIENTS: readonly string[] = ['bob@example.net', 'carol@example.net'];

const encoder = new TextEncoder();

/** Frames of the intact session, in order. */
export function intactSessionFrames(): Uint8Array[] {
  const c = new TcpConversation(
    ipv4(INTACT_CLIENT_IP),
    INTACT_CLIENT_PORT,
    ipv4(INTACT_SERVER_IP),
    25,
    7_000,
    70_000,
  );
  const frames = c.handshake();
  const say = (fromClient: boolean, text: string) => frames.push(c.send(fromClient, encoder.encode(text)));
  say(false, '220 mx.example.net ESMTP\r\n');
  say(true, 'EHLO client.example.org\r\n');
  say(false, '250-mx.example.net\r\n250-PIPELINING\r\n250 8BITMIME\r\n');
  say(true, `MAIL FROM:<${INTACT_SENDER}>\r\n`);
  say(false, '250 2.1.0 Ok\r\n');
  for (const rcpt of INTACT_RECIPIENTS) {
    say(true, `RCPT TO:<${rcpt}>\r\n`);
    say(false, '250 2.1.5 Ok\r\n');
  }
  say(true, 'DATA\r\n');
  say(false, '354 End data with <CR><LF>.<CR><LF>\r\n');
  say(
    true,
    `From: <${INTACT_SENDER}>\r\nTo: <${INTACT_RECIPIENTS[0]}>\r\nSubject: intact\r\n\r\nHello.\r\n.\r\n`,
  );
  say(false, '250 2.0.0 Ok: queued as 4AB12C\r\n');
  say(true, 'QUIT\r\n');
  say(false, '221 2.0.0 Bye\r\n');
  frames.push(...c.close());
  return frames;
}
