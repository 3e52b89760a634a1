/**
 * A throwaway Postfix for live tests: its own configuration, queue, data directory and log in a temporary
 * directory (`postfix -c DIR`), one smtpd on 127.0.0.1:PORT, every message for sink.test discarded, and
 * recipients listed in `refuse` refused with `550 5.1.1 ... User unknown`. The system's /etc/postfix is not
 * read or written. Needs root and the postfix programs; `postfixSkipReason` says when they are missing.
 *
 * `parsePostfixLog` reads the instance's maillog (client ports are logged, so each line can be tied to one
 * TCP connection).
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const hasProgram = (name: string): boolean =>
  spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore', env: pathWithSbin() }).status === 0;

function pathWithSbin(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin` };
}

const hasPostfixUser = spawnSync('id', ['-u', 'postfix'], { stdio: 'ignore' }).status === 0;

/** Why a private Postfix cannot run here, or null when it can. */
export const postfixSkipReason: string | null =
  process.getuid?.() !== 0
    ? 'skipped: a private Postfix needs root'
    : !hasProgram('postfix') || !hasProgram('postconf')
      ? 'skipped: Postfix is not installed (apt-get install postfix)'
      : !hasPostfixUser
        ? "skipped: no 'postfix' user (the Postfix package creates it)"
        : null;

export interface PostfixInstance {
  readonly port: number;
  readonly dir: string;
  /** The instance's log so far. */
  maillog(): string;
  /** Stops the instance (bounded), then deletes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether something listens on 127.0.0.1:port (from /proc/net/tcp, so no connection shows in the log). */
function listening(port: number): boolean {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  try {
    return readFileSync('/proc/net/tcp', 'utf8')
      .split('\n')
      .some((line) => {
        const fields = line.trim().split(/\s+/);
        return fields[1] === local && fields[3] === '0A';
      });
  } catch {
    return false;
  }
}

/** Postfix's daemons without chroot; no local delivery, no outgoing SMTP. */
const MASTER_SERVICES = `pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;

/** Starts the instance on `port` (which must be free) and waits (10 s at most) until it accepts connections. */
export async function startPostfix(port: number, refuse: readonly string[]): Promise<PostfixInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'smtpscope-postfix-'));
  // The postfix user must reach the queue and data directories.
  chmodSync(dir, 0o755);
  const etc = join(dir, 'etc');
  const data = join(dir, 'data');
  mkdirSync(etc);
  mkdirSync(join(dir, 'queue'));
  mkdirSync(data);
  execFileSync('chown', ['postfix:postfix', data]);
  const log = join(dir, 'maillog');
  writeFileSync(
    join(etc, 'main.cf'),
    [
      'compatibility_level = 3.6',
      `queue_directory = ${dir}/queue`,
      `data_directory = ${data}`,
      'mail_owner = postfix',
      'setgid_group = postdrop',
      'syslog_name = postfix-smtpscope-test',
      `maillog_file = ${log}`,
      `maillog_file_prefixes = ${dir}`,
      'myhostname = mx.smtpscope.test',
      'mydomain = smtpscope.test',
      'mydestination =',
      'inet_interfaces = 127.0.0.1',
      'inet_protocols = ipv4',
      'mynetworks = 127.0.0.0/8',
      'smtpd_client_port_logging = yes',
      'smtpd_peername_lookup = no',
      'smtp_dns_support_level = disabled',
      'smtpd_delay_reject = no',
      'alias_maps =',
      'alias_database =',
      `smtpd_recipient_restrictions = check_recipient_access texthash:${etc}/recipient-access, permit_mynetworks, reject_unauth_destination`,
      `transport_maps = texthash:${etc}/transport`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(etc, 'recipient-access'), refuse.map((a) => `${a} 550 5.1.1 User unknown\n`).join(''));
  writeFileSync(join(etc, 'transport'), 'sink.test discard:sink\n');
  writeFileSync(join(etc, 'master.cf'), `127.0.0.1:${port} inet n - n - - smtpd\n${MASTER_SERVICES}`);
  const postfix = (command: string): void => {
    execFileSync('postfix', ['-c', etc, command], { stdio: 'ignore', timeout: 30_000, env: pathWithSbin() });
  };
  let stopped = false;
  const instance: PostfixInstance = {
    port,
    dir,
    maillog: () => (existsSync(log) ? readFileSync(log, 'utf8') : ''),
    async stop() {
      if (stopped) return;
      stopped = true;
      const pidFile = join(dir, 'queue', 'pid', 'master.pid');
      const masterPid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : Number.NaN;
      try {
        postfix('stop');
      } catch {
        // Not running (it failed to start): nothing to stop.
      }
      const alive = (): boolean => {
        if (!Number.isInteger(masterPid) || masterPid <= 0) return false;
        try {
          process.kill(masterPid, 0);
          return true;
        } catch {
          return false;
        }
      };
      const deadline = Date.now() + 10_000;
      while (alive() && Date.now() < deadline) await sleep(100);
      if (alive()) process.kill(masterPid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    postfix('start');
    const deadline = Date.now() + 10_000;
    while (!listening(port)) {
      if (Date.now() > deadline) throw new Error(`Postfix did not listen on ${port}:\n${instance.maillog()}`);
      await sleep(100);
    }
  } catch (error) {
    await instance.stop();
    throw error;
  }
  return instance;
}

export interface PostfixClientSession {
  readonly clientPort: number;
  /** Queue ids of the messages accepted in this connection, in order. */
  readonly queueIds: string[];
  /** RCPT refusals: address and the reply as logged (`550 5.1.1 <a@b>: Recipient address rejected: ...`). */
  readonly rejected: { address: string; reply: string }[];
  /** Recipients the queue manager delivered (here: discarded, `status=sent`), per queue id. */
  readonly delivered: string[];
  /** The counters of the `disconnect from` line: `{ ehlo: '1', rcpt: '2/3', commands: '6/7' }`. */
  readonly counts: Record<string, string>;
}

/** Sessions by client port, from a maillog written with `smtpd_client_port_logging = yes`. */
export function parsePostfixLog(text: string): PostfixClientSession[] {
  const sessions = new Map<number, PostfixClientSession>();
  const byQueueId = new Map<string, PostfixClientSession>();
  const session = (port: number): PostfixClientSession => {
    let s = sessions.get(port);
    if (s === undefined) {
      s = { clientPort: port, queueIds: [], rejected: [], delivered: [], counts: {} };
      sessions.set(port, s);
    }
    return s;
  };
  for (const line of text.split('\n')) {
    let m = /smtpd\[\d+\]: connect from [^[]*\[[^\]]+\]:(\d+)$/.exec(line);
    if (m !== null) {
      session(Number(m[1]));
      continue;
    }
    m = /smtpd\[\d+\]: ([0-9A-F]+): client=[^[]*\[[^\]]+\]:(\d+)/.exec(line);
    if (m !== null) {
      const s = session(Number(m[2]));
      s.queueIds.push(m[1] ?? '');
      byQueueId.set(m[1] ?? '', s);
      continue;
    }
    m =
      /smtpd\[\d+\]: (?:[0-9A-F]+|NOQUEUE): reject: RCPT from [^[]*\[[^\]]+\]:(\d+): (\d{3} .*?); from=<[^>]*> to=<([^>]*)>/.exec(
        line,
      );
    if (m !== null) {
      session(Number(m[1])).rejected.push({ address: m[3] ?? '', reply: m[2] ?? '' });
      continue;
    }
    m = /\/[a-z]+\[\d+\]: ([0-9A-F]+): to=<([^>]*)>, .*status=sent /.exec(line);
    if (m !== null) {
      byQueueId.get(m[1] ?? '')?.delivered.push(m[2] ?? '');
      continue;
    }
    m = /smtpd\[\d+\]: disconnect from [^[]*\[[^\]]+\]:(\d+) (.*)$/.exec(line);
    if (m !== null) {
      const counts = session(Number(m[1])).counts;
      for (const pair of (m[2] ?? '').split(' ')) {
        const [name, value] = pair.split('=');
        if (name !== undefined && value !== undefined) counts[name] = value;
      }
    }
  }
  return [...sessions.values()];
}

/** Counts of `: removed` lines (messages that left the queue). */
export function removedCount(text: string): number {
  return text.split('\n').filter((l) => /qmgr\[\d+\]: [0-9A-F]+: removed$/.test(l)).length;
}
