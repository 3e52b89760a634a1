// TLS sessions between nodemailer and npm smtp-server, for make-tls-captures.sh.
// Usage (run from the repository root so that smtp-server and nodemailer resolve):
//   node --tls-keylog=KEYS captures/tls-node.mjs server <587|465> key.pem cert.pem
//       smtp-server on 127.0.0.1:587 (STARTTLS) or 127.0.0.1:465 (implicit TLS); prints "ready <port>";
//       stops on SIGTERM. Node writes the server's TLS key log to KEYS.
//   node captures/tls-node.mjs client <587|465> TRANSCRIPT
//       nodemailer sends two messages on one pooled connection, the first with one recipient the server
//       refuses (550 5.1.1); nodemailer's own protocol log (its client and server lines, as "C: " / "S: ") is appended to TRANSCRIPT.
import { appendFileSync, readFileSync } from 'node:fs';
import { format } from 'node:util';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';

const FIXED_DATE = new Date('2024-05-01T12:00:00Z');

function server(port, keyFile, certFile) {
  const srv = new SMTPServer({
    logger: false,
    secure: port === 465,
    name: 'tls.smtpscope.test',
    key: readFileSync(keyFile),
    cert: readFileSync(certFile),
    size: 1024 * 1024,
    authOptional: true,
    disabledCommands: ['AUTH'],
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('nosuchuser@')) {
        const err = new Error(`5.1.1 <${address.address}>: Recipient address rejected: User unknown`);
        err.responseCode = 550;
        callback(err);
      } else {
        callback();
      }
    },
    onData(stream, _session, callback) {
      stream.on('data', () => {});
      stream.on('end', () => callback(null, 'OK: message accepted'));
    },
  });
  srv.on('error', (err) => {
    process.stderr.write(`server ${port}: ${err.message}\n`);
    process.exit(1);
  });
  srv.listen(port, '127.0.0.1', () => process.stdout.write(`ready ${port}\n`));
  const stop = () => {
    srv.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/**
 * A nodemailer logger that keeps only the protocol log (entries tagged tnx "client" or "server") in
 * TRANSCRIPT, as "C: " and "S: " lines.
 */
function transcriptLogger(file) {
  const write = (entry, message, ...args) => {
    const side = entry?.tnx === 'client' ? 'C' : entry?.tnx === 'server' ? 'S' : null;
    if (side === null) return;
    const text = args.length > 0 ? format(message, ...args) : String(message);
    for (const line of text.split(/\r?\n/)) appendFileSync(file, `${side}: ${line}\n`);
  };
  return { trace: write, debug: write, info: write, warn: write, error: write, fatal: write };
}

async function client(port, transcript) {
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: 1,
    host: '127.0.0.1',
    port,
    secure: port === 465,
    requireTLS: port !== 465,
    name: 'client.smtpscope.test',
    tls: { rejectUnauthorized: false, servername: 'tls.smtpscope.test' },
    logger: transcriptLogger(transcript),
    debug: true,
  });
  const messages = [
    ['bob@sink.test', 'nosuchuser@sink.test'],
    ['carol@sink.test', 'dave@sink.test'],
  ];
  let n = 0;
  for (const to of messages) {
    n += 1;
    const id = `tls-node-${port}-${n}`;
    const info = await transport.sendMail({
      from: 'alice@sender.test',
      to,
      subject: `smtpscope capture ${id}`,
      date: FIXED_DATE,
      messageId: `<${id}@smtpscope.test>`,
      text: `Capture message ${id}, sent inside TLS.\n`,
    });
    console.log(`${id}: accepted=${info.accepted.join(',')} rejected=${info.rejected.join(',')}`);
  }
  transport.close();
}

const [mode, portText, ...rest] = process.argv.slice(2);
const port = Number(portText);
if (mode === 'server' && (port === 587 || port === 465) && rest.length === 2) {
  server(port, rest[0], rest[1]);
} else if (mode === 'client' && (port === 587 || port === 465) && rest.length === 1) {
  client(port, rest[0]).then(
    () => process.exit(0),
    (err) => {
      console.error(`client ${port}: ${err.message}`);
      process.exit(1);
    },
  );
} else {
  console.error('usage: tls-node.mjs server <587|465> KEY CERT | client <587|465> TRANSCRIPT');
  process.exit(2);
}
