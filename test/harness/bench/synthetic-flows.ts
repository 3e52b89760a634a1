/**
 * Synthetic flows for the benchmark corpus: SMTP sessions whose message size, recipients and pipelining depth
 * are parameters (for the scaling measurements), and non-SMTP background (HTTP and TLS downloads, syslog and
 * DNS datagrams). Everything is derived from the arguments and a seeded generator: the same call gives the
 * same bytes.
 */

import { type FlowTemplate, makeTemplate, type TemplatePacket, templatePacket } from './frame-builder.js';

const MSS = 1448;
const FIN = 0x01;
const SYN = 0x02;
const PSH = 0x08;
const ACK = 0x10;

/** Small deterministic generator (mulberry32). */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const latin1 = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'latin1'));

/** Builds a TCP conversation packet by packet, keeping both sides' sequence numbers. */
class Conversation {
  readonly packets: TemplatePacket[] = [];
  private clientSeq: number;
  private serverSeq: number;

  constructor(clientIsn: number, serverIsn: number) {
    this.clientSeq = clientIsn;
    this.serverSeq = serverIsn;
    this.packets.push(templatePacket(true, SYN, this.clientSeq, 0, new Uint8Array(0)));
    this.clientSeq++;
    this.packets.push(templatePacket(false, SYN | ACK, this.serverSeq, this.clientSeq, new Uint8Array(0)));
    this.serverSeq++;
    this.packets.push(templatePacket(true, ACK, this.clientSeq, this.serverSeq, new Uint8Array(0)));
  }

  /** Sends `data` from one side in MSS-sized segments; the receiver acknowledges every second segment. */
  send(fromClient: boolean, data: Uint8Array): void {
    let unacked = 0;
    for (let at = 0; at < data.length; at += MSS) {
      const piece = data.subarray(at, Math.min(data.length, at + MSS));
      const last = at + MSS >= data.length;
      if (fromClient) {
        this.packets.push(
          templatePacket(true, ACK | (last ? PSH : 0), this.clientSeq, this.serverSeq, piece),
        );
        this.clientSeq += piece.length;
      } else {
        this.packets.push(
          templatePacket(false, ACK | (last ? PSH : 0), this.serverSeq, this.clientSeq, piece),
        );
        this.serverSeq += piece.length;
      }
      if (++unacked === 2 && !last) {
        unacked = 0;
        this.ack(!fromClient);
      }
    }
  }

  ack(fromClient: boolean): void {
    const empty = new Uint8Array(0);
    if (fromClient) this.packets.push(templatePacket(true, ACK, this.clientSeq, this.serverSeq, empty));
    else this.packets.push(templatePacket(false, ACK, this.serverSeq, this.clientSeq, empty));
  }

  close(): void {
    const empty = new Uint8Array(0);
    this.packets.push(templatePacket(true, FIN | ACK, this.clientSeq, this.serverSeq, empty));
    this.clientSeq++;
    this.packets.push(templatePacket(false, FIN | ACK, this.serverSeq, this.clientSeq, empty));
    this.serverSeq++;
    this.packets.push(templatePacket(true, ACK, this.clientSeq, this.serverSeq, empty));
  }
}

export interface SyntheticSmtpOptions {
  /** Size of each message as sent (headers and body, before dot-stuffing). */
  readonly messageBytes: number;
  readonly recipients: number;
  /** Send MAIL, every RCPT and DATA in one segment (PIPELINING), else one command per round trip. */
  readonly pipelined: boolean;
  readonly transactions: number;
  readonly seed: number;
}

const WORDS = [
  'mail',
  'queue',
  'relay',
  'delivery',
  'status',
  'report',
  'invoice',
  'meeting',
  'notice',
  'update',
];

function messageText(bytes: number, random: () => number, index: number): string {
  const head =
    `From: Sender ${index} <sender${index}@example.org>\r\n` +
    `To: <rcpt0@example.net>\r\n` +
    `Subject: benchmark message ${index} =?UTF-8?B?w6l0w6k=?=\r\n` +
    `Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n` +
    `Message-ID: <m${index}@example.org>\r\n` +
    `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n`;
  const lines: string[] = [head];
  let size = head.length;
  let n = 0;
  while (size < bytes) {
    let line = n % 40 === 7 ? '.' : '';
    while (line.length < 72) line += `${WORDS[Math.floor(random() * WORDS.length)]} `;
    line += '\r\n';
    lines.push(line);
    size += line.length;
    n++;
  }
  return lines.join('');
}

function dotStuff(text: string): string {
  return text.replace(/^\./gm, '..');
}

/** One SMTP session over IPv4 to port 25: greeting, EHLO, `transactions` messages, QUIT. */
export function syntheticSmtpTemplate(options: SyntheticSmtpOptions): FlowTemplate {
  const random = createRandom(options.seed);
  const c = new Conversation(0x10000000 + options.seed * 7919, 0x70000000 - options.seed * 104_729);
  const say = (fromClient: boolean, text: string): void => c.send(fromClient, latin1(text));
  say(false, '220 mx.example.net ESMTP bench\r\n');
  say(true, 'EHLO client.example.org\r\n');
  say(false, '250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n');
  for (let t = 0; t < options.transactions; t++) {
    const commands = [`MAIL FROM:<sender${t}@example.org> SIZE=${options.messageBytes}\r\n`];
    const replies = ['250 2.1.0 Ok\r\n'];
    for (let r = 0; r < options.recipients; r++) {
      commands.push(`RCPT TO:<rcpt${r}@example.net>\r\n`);
      replies.push(
        r % 17 === 16 ? '550 5.1.1 <rcpt@example.net>: Recipient address rejected\r\n' : '250 2.1.5 Ok\r\n',
      );
    }
    commands.push('DATA\r\n');
    replies.push('354 End data with <CR><LF>.<CR><LF>\r\n');
    if (options.pipelined) {
      say(true, commands.join(''));
      say(false, replies.join(''));
    } else {
      for (let i = 0; i < commands.length; i++) {
        say(true, commands[i]!);
        say(false, replies[i]!);
      }
    }
    say(true, `${dotStuff(messageText(options.messageBytes, random, t))}.\r\n`);
    say(
      false,
      `250 2.0.0 Ok: queued as ${(0x1a2b3c + t * 977 + options.seed).toString(16).toUpperCase()}\r\n`,
    );
  }
  say(true, 'QUIT\r\n');
  say(false, '221 2.0.0 Bye\r\n');
  c.close();
  return makeTemplate(
    `smtp-${options.messageBytes}b-${options.recipients}r-${options.pipelined ? 'pipelined' : 'lockstep'}`,
    'tcp',
    false,
    25,
    true,
    c.packets,
  );
}

/** Non-SMTP background: HTTP downloads (port 80), TLS-like downloads (443), syslog (514/udp) and DNS (53/udp). */
export function backgroundTemplates(seed: number, count: number): FlowTemplate[] {
  const random = createRandom(seed);
  const out: FlowTemplate[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 4;
    if (kind === 0 || kind === 1) {
      const c = new Conversation(0x20000000 + i * 31, 0x30000000 + i * 37);
      const size = 4_000 + Math.floor(random() * 120_000);
      c.send(
        true,
        latin1(
          `GET /files/${i}.bin HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: bench/1\r\nAccept: */*\r\n\r\n`,
        ),
      );
      const body = new Uint8Array(size);
      for (let j = 0; j < size; j++) body[j] = (j * 31 + i) & 0xff;
      const header = latin1(
        `HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\nContent-Type: application/octet-stream\r\n\r\n`,
      );
      const response = new Uint8Array(header.length + size);
      response.set(header);
      response.set(body, header.length);
      c.send(false, response);
      c.ack(true);
      c.close();
      out.push(makeTemplate(`http-${i}`, 'tcp', false, kind === 0 ? 80 : 443, false, c.packets));
    } else if (kind === 2) {
      const text = `<134>Jan  1 00:00:00 host${i} app[${1000 + i}]: request id=${Math.floor(random() * 1e9)} path=/api/v1/items status=200 bytes=${Math.floor(random() * 1e5)}`;
      out.push(
        makeTemplate(`syslog-${i}`, 'udp', false, 514, false, [templatePacket(true, 0, 0, 0, latin1(text))]),
      );
    } else {
      const query = new Uint8Array(40 + (i % 20));
      for (let j = 0; j < query.length; j++) query[j] = (j * 7 + i) & 0xff;
      out.push(makeTemplate(`dns-${i}`, 'udp', false, 53, false, [templatePacket(true, 0, 0, 0, query)]));
    }
  }
  return out;
}
