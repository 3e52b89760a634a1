// SMTP clients used by make-captures.sh: nodemailer sessions and scripted raw-socket dialogues.
// Usage (run from the repository root so that nodemailer resolves):
//   node captures/client.mjs <mode>
// Modes: auth-ok, starttls, pipelining, odd-commands, bdat, and for make-dialogue-captures.sh bdat-refused,
// early-http, send-from, fin-no-crlf. Each prints what it did and exits 0 when the
// session went as planned (rejections included), 1 otherwise.
import net from 'node:net';
import nodemailer from 'nodemailer';

const CAPTURE_USER = 'capture-user';
const CAPTURE_PASSWORD = 'Sw0rdfish-capture-only';
const FIXED_DATE = new Date('2024-05-01T12:00:00Z');

function message(id, from, to, subject) {
  return {
    from,
    to,
    subject,
    date: FIXED_DATE,
    messageId: `<${id}@smtpscope.test>`,
    text: `Capture message ${id}.\nThis body is fixed so that captures differ only in times and ids.\n`,
  };
}

async function authOk() {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: 2587,
    secure: false,
    ignoreTLS: true,
    name: 'client.smtpscope.test',
    auth: { user: CAPTURE_USER, pass: CAPTURE_PASSWORD, method: 'PLAIN' },
  });
  const info = await transport.sendMail(
    message('auth-1', 'alice@sender.test', 'bob@auth.test', 'Authenticated message'),
  );
  console.log(`auth-ok: ${info.response}`);
  transport.close();
}

async function starttls() {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: 2588,
    secure: false,
    requireTLS: true,
    name: 'client.smtpscope.test',
    tls: { rejectUnauthorized: false, servername: 'tls.smtpscope.test' },
  });
  const info = await transport.sendMail(message('tls-1', 'alice@sender.test', 'bob@tls.test', 'Over TLS'));
  console.log(`starttls: ${info.response}`);
  transport.close();
}

async function pipelining() {
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: 1,
    maxMessages: 10,
    host: '127.0.0.1',
    port: 2589,
    secure: false,
    ignoreTLS: true,
    name: 'client.smtpscope.test',
  });
  const batches = [
    ['one@pipeline.test', 'two@pipeline.test', 'three@pipeline.test'],
    ['four@pipeline.test', 'rejected@pipeline.test', 'five@pipeline.test'],
    ['six@pipeline.test', 'seven@pipeline.test'],
  ];
  let n = 0;
  for (const to of batches) {
    n += 1;
    // Sent one after another over the same pooled connection.
    const info = await transport.sendMail(message(`pipe-${n}`, 'alice@sender.test', to, `Pipelined ${n}`));
    console.log(`pipelining ${n}: accepted=${info.accepted.join(',')} rejected=${info.rejected.join(',')}`);
  }
  transport.close();
}

/**
 * Runs a scripted dialogue on a raw socket and prints it: "-> " for each line sent, "<- " for each line
 * received. Each step sends `send` (bytes as given) and then waits for
 * `replies` complete replies (a complete reply ends with a line "NNN " or "NNN\r\n").
 */
function dialogue(host, port, steps) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let pending = '';
    let wanted = 1; // the greeting
    let index = -1;
    const next = () => {
      index += 1;
      const step = steps[index];
      if (step === undefined) {
        socket.end();
        return;
      }
      wanted = step.replies;
      for (const sent of step.send.replace(/\r\n$/, '').split('\r\n')) process.stdout.write(`-> ${sent}\n`);
      socket.write(step.send);
      if (wanted === 0) next();
    };
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      for (;;) {
        const eol = pending.indexOf('\r\n');
        if (eol < 0) break;
        const line = pending.slice(0, eol);
        pending = pending.slice(eol + 2);
        process.stdout.write(`<- ${line}\n`);
        if (/^\d{3}(?: |$)/.test(line)) {
          wanted -= 1;
          if (wanted === 0) next();
        }
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
}

const line = (text, replies = 1) => ({ send: `${text}\r\n`, replies });

async function oddCommands() {
  await dialogue('127.0.0.1', 25, [
    line('HELO client.smtpscope.test'),
    line('VRFY postmaster'),
    line('VRFY nosuchuser'),
    line('EXPN postmaster'),
    line('XYZZY'),
    line('MAIL FROM:<alice@sender.test>'),
    line('RCPT TO:<first@sink.test>'),
    line('RSET'),
    line('NOOP'),
    line('MAIL FROM:<alice@sender.test>'),
    line('RCPT TO:<second@sink.test>'),
    line('DATA'),
    line(
      'Subject: after RSET\r\nMessage-Id: <odd-1@smtpscope.test>\r\n\r\nBody after RSET.\r\n..a line that starts with a dot\r\n.',
    ),
    line('QUIT'),
  ]);
}

async function bdat() {
  const first =
    'Subject: BDAT chunks\r\nMessage-Id: <bdat-1@smtpscope.test>\r\n\r\nFirst chunk of the body.\r\n';
  const second = 'Second chunk, with a line that starts with a dot:\r\n.not stuffed\r\n';
  const third = 'Message two in a single BDAT LAST chunk.\r\n';
  await dialogue('127.0.0.1', 25, [
    line('EHLO client.smtpscope.test'),
    line('MAIL FROM:<alice@sender.test>'),
    line('RCPT TO:<bdat@sink.test>'),
    line('RCPT TO:<nosuchuser@localhost>'),
    { send: `BDAT ${Buffer.byteLength(first)}\r\n${first}`, replies: 1 },
    { send: `BDAT ${Buffer.byteLength(second)} LAST\r\n${second}`, replies: 1 },
    // Second transaction: envelope and a single chunk pipelined in one write.
    {
      send: `MAIL FROM:<alice@sender.test>\r\nRCPT TO:<bdat2@sink.test>\r\nBDAT ${Buffer.byteLength(third)} LAST\r\n${third}`,
      replies: 3,
    },
    // Third transaction: a zero-length last chunk ends the message.
    line('MAIL FROM:<alice@sender.test>'),
    line('RCPT TO:<bdat3@sink.test>'),
    { send: `BDAT ${Buffer.byteLength(third)}\r\n${third}`, replies: 1 },
    line('BDAT 0 LAST'),
    line('QUIT'),
  ]);
}

/** BDAT refused three ways by Postfix (make-dialogue-captures.sh: :2525, and :2531 with a 1000-byte limit). */
async function bdatRefused() {
  const body =
    'Subject: BDAT refused\r\nMessage-Id: <bdat-refused-1@smtpscope.test>\r\n\r\nDelivered after all.\r\n';
  process.stdout.write('# session 1: a malformed BDAT after MAIL and RCPT\n');
  await dialogue('127.0.0.1', 2525, [
    line('EHLO client.smtpscope.test'),
    line('MAIL FROM:<alice@sender.test>'),
    line('RCPT TO:<bob@sink.test>'),
    { send: 'BDAT 5 X\r\nhello', replies: 1 },
  ]);
  process.stdout.write('# session 2: BDAT before MAIL, then the real message\n');
  await dialogue('127.0.0.1', 2525, [
    line('EHLO client.smtpscope.test'),
    { send: 'BDAT 10\r\n0123456789', replies: 1 },
    line('BDAT 0 LAST'),
    line('MAIL FROM:<alice@sender.test>'),
    line('RCPT TO:<bob@sink.test>'),
    { send: `BDAT ${Buffer.byteLength(body)} LAST\r\n${body}`, replies: 1 },
    line('QUIT'),
  ]);
  process.stdout.write('# session 3: a non-LAST chunk over the size limit\n');
  await dialogue('127.0.0.1', 2531, [
    line('EHLO client.smtpscope.test'),
    line('MAIL FROM:<alice@sender.test>'),
    line('RCPT TO:<bob@sink.test>'),
    { send: `BDAT 1200\r\n${'x'.repeat(1198)}\r\n`, replies: 1 },
    { send: 'BDAT 10 LAST\r\n0123456789', replies: 1 },
    line('QUIT'),
  ]);
}

/** Sends TEXT as soon as the connection opens (before any greeting), prints what comes back (10 s at most). */
function talkFirst(host, port, text) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port }, () => {
      for (const sent of text.replace(/\r\n$/, '').split('\r\n')) process.stdout.write(`-> ${sent}\n`);
      socket.write(text);
    });
    let pending = '';
    const timer = setTimeout(() => socket.end(), 10_000);
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      for (let eol = pending.indexOf('\r\n'); eol >= 0; eol = pending.indexOf('\r\n')) {
        process.stdout.write(`<- ${pending.slice(0, eol)}\n`);
        pending = pending.slice(eol + 2);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * An HTTP request sent before the greeting: to smtp-server (:2602), which refuses early talkers, and to
 * Postfix behind a 1.5 s banner delay (:2604; dialogue-servers.mjs).
 */
async function earlyHttp() {
  process.stdout.write('# session 1: smtp-server with a slow banner\n');
  await talkFirst('127.0.0.1', 2602, 'GET / HTTP/1.0\r\n\r\n');
  process.stdout.write('# session 2: Postfix behind a banner delay\n');
  await talkFirst('127.0.0.1', 2604, 'GET / HTTP/1.0\r\n\r\n');
}

/** RFC 821 SEND, SOML and SAML transactions against the rfc821 server (dialogue-servers.mjs, :2603). */
async function sendFrom() {
  const body = (verb) =>
    `Subject: ${verb} FROM\r\nMessage-Id: <${verb.toLowerCase()}-1@smtpscope.test>\r\n\r\nOpened by ${verb} FROM.\r\n.`;
  const steps = [line('HELO client.smtpscope.test')];
  for (const verb of ['SEND', 'SOML', 'SAML']) {
    steps.push(
      line(`${verb} FROM:<alice@sender.test>`),
      line(`RCPT TO:<${verb.toLowerCase()}@sink.test>`),
      line('DATA'),
      line(body(verb)),
    );
  }
  steps.push(line('QUIT'));
  await dialogue('127.0.0.1', 2603, steps);
}

/** A message, then QUIT without its CRLF and the connection closed (FIN) right after (Postfix :2525). */
async function finNoCrlf() {
  await dialogue('127.0.0.1', 2525, [
    line('EHLO client.smtpscope.test'),
    line('MAIL FROM:<alice@sender.test>'),
    line('RCPT TO:<bob@sink.test>'),
    line('DATA'),
    line('Subject: last line without CRLF\r\nMessage-Id: <fin-1@smtpscope.test>\r\n\r\nBody.\r\n.'),
    { send: 'QUIT', replies: 0 },
  ]);
}

const modes = {
  'auth-ok': authOk,
  starttls,
  pipelining,
  'odd-commands': oddCommands,
  bdat,
  'bdat-refused': bdatRefused,
  'early-http': earlyHttp,
  'send-from': sendFrom,
  'fin-no-crlf': finNoCrlf,
};
const run = modes[process.argv[2] ?? ''];
if (run === undefined) {
  console.error(`usage: node captures/client.mjs <${Object.keys(modes).join('|')}>`);
  process.exit(2);
}
run().then(
  () => process.exit(0),
  (err) => {
    console.error(`${process.argv[2]}: ${err.message}`);
    process.exit(1);
  },
);
