/**
 * Real SMTP peers on the loopback interface, for live-capture tests: an smtp-server that records everything
 * it saw (every command line it read, every reply it sent, envelopes, AUTH results, TLS), a nodemailer
 * client, and a swaks runner. Traffic only ever goes to 127.0.0.1 (or ::1), every wait is bounded.
 */

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import nodemailer from 'nodemailer';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { REDACTED } from '../../src/smtp/decoder.js';
import { freePort } from '../harness/free-port.js';

/** One recipient as the server decided it: the reply line it sent for the RCPT command. */
export interface PeerRecipient {
  readonly address: string;
  readonly code: number;
  /** The reply line as sent, e.g. `550 5.1.1 <x@test>: no such user`. */
  readonly reply: string;
}

export interface PeerTransaction {
  readonly mailFrom: string;
  readonly recipients: PeerRecipient[];
  /** Message bytes the server read (after dot-unstuffing), null when no message was sent. */
  messageBytes: number | null;
}

export interface PeerAuth {
  readonly method: string;
  readonly username: string;
  readonly outcome: 'success' | 'failure';
}

/** What the server saw of one connection. */
export interface PeerSession {
  readonly id: string;
  readonly clientAddress: string;
  readonly clientPort: number;
  /** The dialogue in the order the server handled it: `C: line` (commands as read) and `S: reply` (as sent). */
  readonly lines: string[];
  readonly transactions: PeerTransaction[];
  readonly auth: PeerAuth[];
  /** Set when STARTTLS completed. */
  tls: {
    readonly protocol: string | null;
    readonly cipher: string;
    readonly servername: string | null;
  } | null;
  closed: boolean;
}

export interface PeerOptions {
  /** Offer STARTTLS with a self-signed certificate made for this server. */
  readonly starttls: boolean;
  /** Accounts for AUTH PLAIN and LOGIN (offered in clear text too); no accounts: AUTH not offered. */
  readonly users?: Readonly<Record<string, string>>;
  /** Recipients for which this returns true are refused with `550 5.1.1`. */
  readonly reject?: (address: string) => boolean;
  /** Host name in the greeting; default `mx.peer.test`. */
  readonly name?: string;
}

export interface SmtpPeer {
  readonly host: string;
  readonly port: number;
  readonly sessions: PeerSession[];
  /** Resolves once `count` sessions have closed; rejects after `timeoutMs`. */
  waitForClosed(count: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export { freePort };

/** A throw-away self-signed certificate for `name`, made with openssl in a temporary folder. */
export function makeSelfSignedCert(name: string): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'smtpscope-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        `/CN=${name}`,
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore', timeout: 10_000 },
    );
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const REJECT_REPLY = (address: string): string => `5.1.1 <${address}>: Recipient address rejected`;

/** Starts a recording smtp-server on 127.0.0.1 at a free port. */
export async function startSmtpPeer(options: PeerOptions): Promise<SmtpPeer> {
  const sessions: PeerSession[] = [];
  const byId = new Map<string, PeerSession>();
  const closedWaiters: (() => void)[] = [];
  let closedCount = 0;
  const users = options.users ?? {};
  const reject = options.reject ?? (() => false);
  const name = options.name ?? 'mx.peer.test';

  const line = (cid: unknown, text: string): void => {
    const session = typeof cid === 'string' ? byId.get(cid) : undefined;
    session?.lines.push(text);
  };
  /** smtp-server logs `C:` for each command it handles and `S:` for each reply it sends, per connection id. */
  const logger = {
    debug(entry: { tnx?: string; cid?: string }, marker?: string, payload?: string): void {
      if (marker === 'C:' && entry.tnx === 'command') line(entry.cid, `C: ${payload ?? ''}`);
      else if (marker === 'S:' && entry.tnx === 'send') line(entry.cid, `S: ${payload ?? ''}`);
    },
    info(): void {},
    warn(): void {},
    error(): void {},
    trace(): void {},
    fatal(): void {},
  };
  const current = (id: string): PeerSession => {
    const s = byId.get(id);
    if (s === undefined) throw new Error(`smtp peer: unknown session ${id}`);
    return s;
  };
  const withTls = options.starttls ? makeSelfSignedCert(name) : null;
  const serverOptions: SMTPServerOptions = {
    name,
    logger,
    secure: false,
    disableReverseLookup: true,
    ...(withTls === null ? {} : { key: withTls.key, cert: withTls.cert }),
    disabledCommands: [
      ...(withTls === null ? ['STARTTLS'] : []),
      ...(Object.keys(users).length === 0 ? ['AUTH'] : []),
    ],
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: true,
    allowInsecureAuth: true,
    size: 10 * 1024 * 1024,
    onConnect(session, callback) {
      const s: PeerSession = {
        id: session.id,
        clientAddress: session.remoteAddress,
        clientPort: session.remotePort,
        lines: [],
        transactions: [],
        auth: [],
        tls: null,
        closed: false,
      };
      sessions.push(s);
      byId.set(session.id, s);
      callback();
    },
    onSecure(socket, session, callback) {
      const tls = socket as TLSSocket;
      const cipher = tls.getCipher();
      current(session.id).tls = {
        protocol: tls.getProtocol(),
        cipher: cipher.standardName ?? cipher.name,
        servername: typeof session.servername === 'string' ? session.servername : null,
      };
      callback();
    },
    onAuth(auth, session, callback) {
      const username = auth.username ?? '';
      const ok = Object.hasOwn(users, username) && users[username] === auth.password;
      current(session.id).auth.push({ method: auth.method, username, outcome: ok ? 'success' : 'failure' });
      if (ok) callback(null, { user: username });
      else callback(new Error('Invalid username or password'));
    },
    onMailFrom(address, session, callback) {
      current(session.id).transactions.push({
        mailFrom: address.address,
        recipients: [],
        messageBytes: null,
      });
      callback();
    },
    onRcptTo(address, session, callback) {
      const tx = current(session.id).transactions.at(-1);
      if (reject(address.address)) {
        const error = Object.assign(new Error(REJECT_REPLY(address.address)), { responseCode: 550 });
        tx?.recipients.push({ address: address.address, code: 550, reply: `550 ${error.message}` });
        callback(error);
      } else {
        tx?.recipients.push({ address: address.address, code: 250, reply: '250 Accepted' });
        callback();
      }
    },
    onData(stream, session, callback) {
      let bytes = 0;
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      stream.on('end', () => {
        const tx = current(session.id).transactions.at(-1);
        if (tx !== undefined) tx.messageBytes = bytes;
        callback(null, `OK: queued as Q${sessions.length}X${bytes}`);
      });
    },
    onClose(session) {
      const s = byId.get(session.id);
      if (s === undefined || s.closed) return;
      s.closed = true;
      closedCount++;
      for (const wake of closedWaiters.splice(0)) wake();
    },
  };
  const server = new SMTPServer(serverOptions);
  const port = await freePort();
  await new Promise<void>((resolve, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  server.on('error', () => {});
  return {
    host: '127.0.0.1',
    port,
    sessions,
    async waitForClosed(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (closedCount < count) {
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(`smtp peer: ${closedCount} of ${count} sessions closed after ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          closedWaiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close() {
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export interface MailToSend {
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
}

export interface SendOptions {
  /** Pooled connection: every message over one connection (several transactions, pipelined envelopes). */
  readonly pool: boolean;
  readonly auth?: { readonly user: string; readonly pass: string; readonly method: 'PLAIN' | 'LOGIN' };
  /** Ask for STARTTLS (the server must offer it); the certificate is not checked. */
  readonly starttls: boolean;
  /** SNI sent in the TLS client hello. */
  readonly servername?: string;
  readonly name?: string;
}

export interface SendResult {
  readonly accepted: string[];
  readonly rejected: string[];
  readonly response: string;
}

/** Sends `mails` with nodemailer, one after another, and returns what nodemailer reported for each. */
export async function sendWithNodemailer(
  peer: { host: string; port: number },
  mails: readonly MailToSend[],
  options: SendOptions,
): Promise<SendResult[]> {
  const transport = nodemailer.createTransport({
    host: peer.host,
    port: peer.port,
    secure: false,
    pool: options.pool,
    maxConnections: 1,
    maxMessages: 100,
    name: options.name ?? 'client.peer.test',
    ignoreTLS: !options.starttls,
    requireTLS: options.starttls,
    tls: {
      rejectUnauthorized: false,
      ...(options.servername === undefined ? {} : { servername: options.servername }),
    },
    connectionTimeout: 5000,
    greetingTimeout: 5000,
    socketTimeout: 10_000,
    ...(options.auth === undefined
      ? {}
      : { auth: { user: options.auth.user, pass: options.auth.pass }, authMethod: options.auth.method }),
  });
  try {
    const results: SendResult[] = [];
    for (const mail of mails) {
      const info = await transport.sendMail({
        from: mail.from,
        to: [...mail.to],
        subject: mail.subject,
        text: mail.text,
      });
      results.push({
        accepted: info.accepted.map(String),
        rejected: info.rejected.map(String),
        response: info.response,
      });
    }
    return results;
  } finally {
    transport.close();
  }
}

/** Whether swaks is installed. */
export function swaksAvailable(): boolean {
  try {
    execFileSync('swaks', ['--version'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Runs swaks with `args` (bounded by `timeoutMs`) and returns its exit status and output. */
export function runSwaks(
  args: readonly string[],
  timeoutMs = 20_000,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, rejectRun) => {
    const child = spawn('swaks', [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('latin1').on('data', (t: string) => {
      stdout += t;
    });
    child.stderr.setEncoding('latin1').on('data', (t: string) => {
      stderr += t;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rejectRun(new Error(`swaks did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      rejectRun(error);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** How a credential line is written on both sides of a dialogue comparison. */
export const SECRET = '<secret>';

/** A reply as the server wrote it: `code-text` lines joined with CRLF, the last one `code text`. */
export function replyLine(reply: { readonly code: number; readonly text: string }): string {
  const parts = reply.text.split('\n');
  return parts.map((t, i) => `${reply.code}${i < parts.length - 1 ? '-' : ' '}${t}`).join('\r\n');
}

/** The NDJSON fields of a session that {@link dialogueOf} reads. */
export interface DialogueDoc {
  readonly smtp: {
    readonly greeting: { readonly code: number | null; readonly text: string };
    readonly commands: readonly {
      readonly verb: string;
      readonly verb_text: string;
      readonly argument: string;
      readonly reply: { readonly code: number; readonly text: string } | null;
    }[];
  };
}

/**
 * A session's NDJSON document as the server's log shows it: `S:` replies and `C:` commands in the order
 * handled, credential lines as {@link SECRET}.
 */
export function dialogueOf(doc: DialogueDoc): string[] {
  const lines: string[] = [];
  if (doc.smtp.greeting.code !== null)
    lines.push(`S: ${replyLine(doc.smtp.greeting as { code: number; text: string })}`);
  for (const c of doc.smtp.commands) {
    if (c.verb !== 'END-OF-DATA') {
      const text =
        c.verb === 'AUTH-RESPONSE'
          ? SECRET
          : c.argument === ''
            ? c.verb_text
            : `${c.verb_text} ${c.argument}`;
      lines.push(`C: ${text.replace(REDACTED, SECRET)}`);
    }
    if (c.reply !== null) lines.push(`S: ${replyLine(c.reply)}`);
  }
  return lines;
}
