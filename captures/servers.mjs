// SMTP and LMTP servers (npm smtp-server) used by make-captures.sh to record captures.
// Usage (run from the repository root so that smtp-server resolves):
//   node captures/servers.mjs <profile> [key.pem cert.pem]
// Prints "ready <profile>" once listening; stops on SIGTERM or SIGINT.
// Profiles and ports are documented in captures/README.md.
import { readFileSync } from 'node:fs';
import { SMTPServer } from 'smtp-server';

/** The only credentials the auth server accepts. Written in captures/README.md. */
export const CAPTURE_USER = 'capture-user';
export const CAPTURE_PASSWORD = 'Sw0rdfish-capture-only';

function rcptError(message, code) {
  const err = new Error(message);
  err.responseCode = code;
  return err;
}

/** Reads and drops the message body, then accepts it. */
function acceptData(stream, _session, callback) {
  stream.on('data', () => {});
  stream.on('end', () => callback(null, 'OK: message accepted'));
}

const common = { logger: false, authOptional: true, size: 1024 * 1024 };

function profile(name, tlsFiles) {
  switch (name) {
    case 'auth':
      return {
        host: '127.0.0.1',
        port: 2587,
        options: {
          ...common,
          name: 'auth.smtpscope.test',
          disabledCommands: ['STARTTLS'],
          authMethods: ['PLAIN', 'LOGIN'],
          allowInsecureAuth: true,
          onAuth(auth, _session, callback) {
            if (auth.username === CAPTURE_USER && auth.password === CAPTURE_PASSWORD) {
              callback(null, { user: auth.username });
            } else {
              callback(rcptError('5.7.8 Authentication credentials invalid', 535));
            }
          },
          onData: acceptData,
        },
      };
    case 'starttls':
      return {
        host: '127.0.0.1',
        port: 2588,
        options: {
          ...common,
          name: 'tls.smtpscope.test',
          key: readFileSync(tlsFiles[0]),
          cert: readFileSync(tlsFiles[1]),
          disabledCommands: ['AUTH'],
          onData: acceptData,
        },
      };
    case 'pipelining':
      return {
        host: '127.0.0.1',
        port: 2589,
        options: {
          ...common,
          name: 'pipe.smtpscope.test',
          disabledCommands: ['STARTTLS', 'AUTH'],
          onRcptTo(address, _session, callback) {
            if (address.address.startsWith('rejected@')) {
              callback(rcptError('5.1.1 <rejected@pipeline.test>: Recipient address rejected', 550));
            } else {
              callback();
            }
          },
          onData: acceptData,
        },
      };
    case 'remote':
      // Next hop for Postfix: rejects gone@remote.test, accepts everything else (including DSNs).
      return {
        host: '127.0.0.1',
        port: 2590,
        options: {
          ...common,
          name: 'mx.remote.test',
          disabledCommands: ['STARTTLS', 'AUTH'],
          onRcptTo(address, _session, callback) {
            if (address.address === 'gone@remote.test') {
              callback(rcptError('5.1.1 <gone@remote.test>: Recipient address rejected: User unknown', 550));
            } else {
              callback();
            }
          },
          onData: acceptData,
        },
      };
    case 'lmtp':
      return {
        host: '127.0.0.1',
        port: 2592,
        options: {
          ...common,
          name: 'lmtp.smtpscope.test',
          lmtp: true,
          disabledCommands: ['STARTTLS', 'AUTH'],
          onData(stream, session, callback) {
            stream.on('data', () => {});
            stream.on('end', () => {
              callback(
                null,
                session.envelope.rcptTo.map((rcpt) =>
                  rcpt.address.startsWith('full@')
                    ? rcptError('5.2.2 <full@lmtp.test>: Mailbox full', 552)
                    : `2.1.5 <${rcpt.address}> delivered`,
                ),
              );
            });
          },
        },
      };
    case 'lossy':
      // Runs inside the server network namespace of the lossy link (see netem.py).
      return {
        host: '10.77.0.2',
        port: 25,
        options: {
          ...common,
          name: 'lossy.smtpscope.test',
          disabledCommands: ['STARTTLS', 'AUTH'],
          onData: acceptData,
        },
      };
    default:
      throw new Error(`unknown profile ${name}`);
  }
}

const name = process.argv[2] ?? '';
const { host, port, options } = profile(name, process.argv.slice(3));
const server = new SMTPServer(options);
let attempts = 0;
server.on('error', (err) => {
  // A freshly configured address in a new network namespace can take a moment to become usable.
  if (err.code === 'EADDRNOTAVAIL' && attempts < 50) {
    setTimeout(listen, 100);
    return;
  }
  process.stderr.write(`server ${name}: ${err.message}\n`);
  process.exit(1);
});
function listen() {
  attempts += 1;
  server.listen(port, host, () => {
    process.stdout.write(`ready ${name}\n`);
  });
}
listen();
const stop = () => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
