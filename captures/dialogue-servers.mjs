// Servers for make-dialogue-captures.sh (run from the repository root so that smtp-server resolves):
//   node captures/dialogue-servers.mjs <profile>
// Prints "ready <profile>" once listening on 127.0.0.1; stops on SIGTERM or SIGINT. Profiles:
//   auth-refusing  smtp-server on :2601, AUTH PLAIN and LOGIN (no TLS), accepts the capture credentials of
//                  captures/README.md, refuses nosuchuser@... with 550 5.1.1
//   slow-banner    smtp-server on :2602 that sends its 220 greeting 1.5 s after the connection opens
//   delayed-postfix  a forwarder on :2604 to the private Postfix on :2525 that holds what Postfix sends for
//                  the first 1.5 s of each connection (a slow banner), while the client's bytes go through at once
//   rfc821         a scripted RFC 821 server on :2603: HELO, MAIL/SEND/SOML/SAML FROM, RCPT, DATA, RSET,
//                  NOOP, QUIT, each answered as RFC 821 says (SEND, SOML and SAML open a transaction like MAIL)
import net from 'node:net';
import { SMTPServer } from 'smtp-server';

// The credentials of captures/README.md ("Credentials"), as in servers.mjs and client.mjs (importing
// servers.mjs would start its server).
const CAPTURE_USER = 'capture-user';
const CAPTURE_PASSWORD = 'Sw0rdfish-capture-only';

function refuseUnknown(address, _session, callback) {
  if (address.address.startsWith('nosuchuser@')) {
    const err = new Error(`5.1.1 <${address.address}>: Recipient address rejected: User unknown`);
    err.responseCode = 550;
    callback(err);
  } else {
    callback();
  }
}

function acceptData(stream, _session, callback) {
  stream.on('data', () => {});
  stream.on('end', () => callback(null, 'OK: message accepted'));
}

function smtpServer(name, port, options) {
  const server = new SMTPServer({
    logger: false,
    size: 1024 * 1024,
    disabledCommands: ['STARTTLS'],
    onRcptTo: refuseUnknown,
    onData: acceptData,
    ...options,
  });
  server.on('error', (err) => {
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', () => process.stdout.write(`ready ${name}\n`));
  return server;
}

/** RFC 821 server: one reply per line, DATA until <CRLF>.<CRLF>. */
function rfc821(port) {
  const server = net.createServer((socket) => {
    let pending = '';
    let inData = false;
    let envelope = false;
    let recipients = 0;
    const reply = (text) => socket.write(`${text}\r\n`);
    reply('220 legacy.smtpscope.test Simple Mail Transfer Service Ready');
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      for (;;) {
        const eol = pending.indexOf('\r\n');
        if (eol < 0) return;
        const line = pending.slice(0, eol);
        pending = pending.slice(eol + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            envelope = false;
            recipients = 0;
            reply('250 OK');
          }
          continue;
        }
        const verb = line.toUpperCase();
        if (verb.startsWith('HELO ')) reply('250 legacy.smtpscope.test');
        else if (/^(MAIL|SEND|SOML|SAML) FROM:/.test(verb)) {
          envelope = true;
          recipients = 0;
          reply('250 OK');
        } else if (verb.startsWith('RCPT TO:')) {
          if (!envelope) reply('503 Bad sequence of commands');
          else {
            recipients += 1;
            reply('250 OK');
          }
        } else if (verb === 'DATA') {
          if (recipients === 0) reply('503 Bad sequence of commands');
          else {
            inData = true;
            reply('354 Start mail input; end with <CRLF>.<CRLF>');
          }
        } else if (verb === 'RSET') {
          envelope = false;
          recipients = 0;
          reply('250 OK');
        } else if (verb === 'NOOP') reply('250 OK');
        else if (verb === 'QUIT') {
          socket.end('221 legacy.smtpscope.test Service closing transmission channel\r\n');
          return;
        } else reply('500 Syntax error, command unrecognized');
      }
    });
    socket.on('error', () => {});
  });
  server.listen(port, '127.0.0.1', () => process.stdout.write('ready rfc821\n'));
  return server;
}

/** Forwards 127.0.0.1:port to 127.0.0.1:target; what the target sends in the first delayMs is held back. */
function delayedForwarder(port, target, delayMs) {
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: target });
    const held = [];
    let holding = true;
    setTimeout(() => {
      holding = false;
      for (const chunk of held) client.write(chunk);
      held.length = 0;
    }, delayMs);
    upstream.on('data', (chunk) => (holding ? held.push(chunk) : client.write(chunk)));
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('end', () => (holding ? setTimeout(() => client.end(), delayMs) : client.end()));
    client.on('end', () => upstream.end());
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  server.listen(port, '127.0.0.1', () => process.stdout.write('ready delayed-postfix\n'));
  return server;
}

const name = process.argv[2] ?? '';
let server;
switch (name) {
  case 'auth-refusing':
    server = smtpServer(name, 2601, {
      name: 'auth.smtpscope.test',
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        if (auth.username === CAPTURE_USER && auth.password === CAPTURE_PASSWORD) {
          callback(null, { user: auth.username });
        } else {
          const err = new Error('5.7.8 Authentication credentials invalid');
          err.responseCode = 535;
          callback(err);
        }
      },
    });
    break;
  case 'slow-banner':
    server = smtpServer(name, 2602, {
      name: 'slow.smtpscope.test',
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      onConnect(_session, callback) {
        setTimeout(() => callback(), 1500);
      },
    });
    break;
  case 'delayed-postfix':
    server = delayedForwarder(2604, 2525, 1500);
    break;
  case 'rfc821':
    server = rfc821(2603);
    break;
  default:
    console.error('usage: dialogue-servers.mjs <auth-refusing|slow-banner|delayed-postfix|rfc821>');
    process.exit(2);
}
const stop = () => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
