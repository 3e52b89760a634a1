/**
 * Live capture of a real Postfix: a throwaway instance (test/helpers/postfix-instance.ts: its own config,
 * queue and log in a temporary directory, smtpd on a free port of 127.0.0.1) takes two swaks sessions of
 * three recipients each, one of them refused, the second pipelined. smtpscope captures them on the loopback
 * interface, with `-i lo` when `cap` loads and through `tcpdump -U -w - | smtpscope -` when tcpdump is there,
 * and the sessions, queue ids, delivered and refused recipients, refusal replies and per-command counts it
 * writes must equal what Postfix logged. Skips with the reason where Postfix, swaks, root or both capture
 * ways are missing; Postfix is stopped and its directory removed at the end.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCli, waitForExit, waitUntilCapturing } from '../harness/soak/cli-child.js';
import {
  type PostfixClientSession,
  type PostfixInstance,
  parsePostfixLog,
  postfixSkipReason,
  removedCount,
  startPostfix,
} from '../helpers/postfix-instance.js';
import { runSwaks, swaksAvailable } from '../helpers/smtp-peers.js';
import { CLI, ensureCliBuilt, liveSkipReason } from './live-env.js';

const hasSwaks = swaksAvailable();
const hasTcpdump = spawnSync('sh', ['-c', 'command -v tcpdump'], { stdio: 'ignore' }).status === 0;
const isRoot = process.getuid?.() === 0;
const REFUSED = 'refused@sink.test';

type Mode = 'cap' | 'tcpdump';
const skipReason = (mode: Mode): string | null =>
  postfixSkipReason ??
  (!hasSwaks ? 'skipped: needs swaks (apt-get install swaks)' : null) ??
  (mode === 'cap'
    ? liveSkipReason
    : !isRoot
      ? 'skipped: tcpdump on lo needs root'
      : !hasTcpdump
        ? 'skipped: needs tcpdump (apt-get install tcpdump)'
        : null);

const work = mkdtempSync(join(tmpdir(), 'smtpscope-live-postfix-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function waitUntil(test: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

// NDJSON documents, checked against docs/JSON.md names.
type Doc = any;

/** What smtpscope says of one connection, in the terms of Postfix's log. */
function asPostfixLogs(doc: Doc): PostfixClientSession {
  const counts: Record<string, { ok: number; total: number }> = {};
  const commands: Doc[] = doc.smtp.commands;
  const count = (name: string, ok: boolean): void => {
    const c = counts[name] ?? { ok: 0, total: 0 };
    c.total++;
    if (ok) c.ok++;
    counts[name] = c;
  };
  commands.forEach((c, i) => {
    if (c.verb === 'END-OF-DATA') return;
    const code: number = c.reply?.code ?? 0;
    // Postfix counts DATA as done when the message was accepted, at the end of data.
    const ok =
      c.verb === 'DATA'
        ? code === 354 && commands[i + 1]?.verb === 'END-OF-DATA' && commands[i + 1].reply?.code === 250
        : code >= 200 && code < 400;
    count(c.verb.toLowerCase(), ok);
    count('commands', ok);
  });
  const recipients: Doc[] = doc.smtp.transactions.flatMap((t: Doc) => t.recipients);
  return {
    clientPort: doc.source.port,
    queueIds: doc.smtp.transactions.map((t: Doc) => t.queue_id).filter((q: string | null) => q !== null),
    rejected: recipients
      .filter((r) => r.disposition === 'rejected-rcpt')
      .map((r) => ({ address: r.address, reply: `${r.rcpt_reply.code} ${r.rcpt_reply.text}` })),
    delivered: recipients.filter((r) => r.disposition === 'delivered').map((r) => r.address),
    counts: Object.fromEntries(
      Object.entries(counts).map(([name, c]) => [
        name,
        c.ok === c.total ? `${c.total}` : `${c.ok}/${c.total}`,
      ]),
    ),
  };
}

/** Starts the capture and resolves once it sees packets; `stop` ends it the way a user would. */
async function startCapture(
  mode: Mode,
  port: number,
  json: string,
): Promise<{ stop: () => Promise<{ code: number | null; stderr: string }> }> {
  const args = ['--ports', String(port), '--json', json];
  if (mode === 'cap') {
    const cli = startCli(['-i', 'lo', '-f', `tcp port ${port}`, ...args], { cliPath: CLI });
    await waitUntilCapturing(cli, 15_000);
    return {
      async stop() {
        cli.process.kill('SIGINT');
        const exit = await waitForExit(cli, 20_000);
        return { code: exit.code, stderr: cli.stderr() };
      },
    };
  }
  const tcpdump = spawn('tcpdump', ['-i', 'lo', '-U', '-s', '0', '-w', '-', `tcp port ${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tcpdumpErr = '';
  tcpdump.stderr.setEncoding('utf8').on('data', (t: string) => {
    tcpdumpErr += t;
  });
  const cli: ChildProcess = spawn(process.execPath, [CLI, '-', ...args], {
    stdio: [tcpdump.stdout, 'ignore', 'pipe'],
  });
  let cliErr = '';
  cli.stderr?.setEncoding('utf8').on('data', (t: string) => {
    cliErr += t;
  });
  const cliExit = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
  const killAll = (): void => {
    if (tcpdump.exitCode === null && tcpdump.signalCode === null) tcpdump.kill('SIGKILL');
    if (cli.exitCode === null && cli.signalCode === null) cli.kill('SIGKILL');
  };
  try {
    await waitUntil(() => tcpdumpErr.includes('listening on'), 'tcpdump to listen', 10_000);
  } catch (error) {
    killAll();
    throw error;
  }
  await sleep(300);
  return {
    async stop() {
      // tcpdump flushes and exits; smtpscope reads the end of its input and finishes.
      tcpdump.kill('SIGINT');
      const timer = setTimeout(killAll, 20_000);
      const code = await cliExit;
      clearTimeout(timer);
      return { code, stderr: `${tcpdumpErr}${cliErr}` };
    },
  };
}

const LOG = `Dec 01 20:10:01 mx postfix-smtpscope-test/smtpd[1739]: connect from unknown[127.0.0.1]:51626
Dec 01 20:10:01 mx postfix-smtpscope-test/smtpd[1739]: 1E8B620E749: client=unknown[127.0.0.1]:51626
Dec 01 20:10:01 mx postfix-smtpscope-test/smtpd[1739]: 1E8B620E749: reject: RCPT from unknown[127.0.0.1]:51626: 550 5.1.1 <refused@sink.test>: Recipient address rejected: User unknown; from=<alice@sender.test> to=<refused@sink.test> proto=ESMTP helo=<client.smtpscope.test>
Dec 01 20:10:01 mx postfix-smtpscope-test/smtpd[1750]: connect from unknown[127.0.0.1]:51640
Dec 01 20:10:01 mx postfix-smtpscope-test/cleanup[1742]: 1E8B620E749: message-id=<20261201201001.001735@vm>
Dec 01 20:10:01 mx postfix-smtpscope-test/qmgr[1716]: 1E8B620E749: from=<alice@sender.test>, size=450, nrcpt=2 (queue active)
Dec 01 20:10:01 mx postfix-smtpscope-test/smtpd[1739]: disconnect from unknown[127.0.0.1]:51626 ehlo=1 mail=1 rcpt=2/3 data=1 quit=1 commands=6/7
Dec 01 20:10:01 mx postfix-smtpscope-test/discard[1743]: 1E8B620E749: to=<ok1@sink.test>, relay=none, delay=0.04, delays=0.02/0.01/0/0, dsn=2.0.0, status=sent (sink)
Dec 01 20:10:01 mx postfix-smtpscope-test/discard[1743]: 1E8B620E749: to=<ok2@sink.test>, relay=none, delay=0.04, delays=0.02/0.01/0/0, dsn=2.0.0, status=sent (sink)
Dec 01 20:10:01 mx postfix-smtpscope-test/qmgr[1716]: 1E8B620E749: removed
Dec 01 20:10:02 mx postfix-smtpscope-test/smtpd[1750]: NOQUEUE: reject: RCPT from unknown[127.0.0.1]:51640: 550 5.1.1 <refused@sink.test>: Recipient address rejected: User unknown; from=<bob@sender.test> to=<refused@sink.test> proto=ESMTP helo=<x>
Dec 01 20:10:02 mx postfix-smtpscope-test/smtpd[1750]: disconnect from unknown[127.0.0.1]:51640 ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4
`;

describe('parsePostfixLog', () => {
  it('ties each line to its connection by client port and each delivery to it by queue id', () => {
    const reply = '550 5.1.1 <refused@sink.test>: Recipient address rejected: User unknown';
    expect(parsePostfixLog(LOG)).toEqual([
      {
        clientPort: 51626,
        queueIds: ['1E8B620E749'],
        rejected: [{ address: REFUSED, reply }],
        delivered: ['ok1@sink.test', 'ok2@sink.test'],
        counts: { ehlo: '1', mail: '1', rcpt: '2/3', data: '1', quit: '1', commands: '6/7' },
      },
      {
        clientPort: 51640,
        queueIds: [],
        rejected: [{ address: REFUSED, reply }],
        delivered: [],
        counts: { ehlo: '1', mail: '1', rcpt: '0/1', quit: '1', commands: '3/4' },
      },
    ]);
    expect(removedCount(LOG)).toBe(1);
  });
});

describe('live capture of a private Postfix', () => {
  for (const mode of ['cap', 'tcpdump'] as const) {
    const reason = skipReason(mode);
    const how = mode === 'cap' ? '-i lo' : 'tcpdump -w - | smtpscope -';
    it.skipIf(reason !== null)(
      `reports the sessions, recipients and reply codes Postfix logged (${how})${reason === null ? '' : ` [${reason}]`}`,
      async () => {
        await ensureCliBuilt();
        const port = await freePort();
        const json = join(work, `${mode}.ndjson`);
        let postfix: PostfixInstance | null = null;
        let capture: Awaited<ReturnType<typeof startCapture>> | null = null;
        try {
          postfix = await startPostfix(port, [REFUSED]);
          capture = await startCapture(mode, port, json);
          const common = ['--server', '127.0.0.1', '--port', String(port), '--helo', 'client.smtpscope.test'];
          const first = await runSwaks([
            ...common,
            '--from',
            'alice@sender.test',
            '--to',
            `ok1@sink.test,${REFUSED},ok2@sink.test`,
          ]);
          const second = await runSwaks([
            ...common,
            '--pipeline',
            '--from',
            'bob@sender.test',
            '--to',
            `ok3@sink.test,ok4@sink.test,${REFUSED}`,
          ]);
          expect(first.status, first.stdout + first.stderr).toBe(0);
          expect(second.status, second.stdout + second.stderr).toBe(0);
          const pf = postfix;
          await waitUntil(
            () =>
              removedCount(pf.maillog()) === 2 &&
              parsePostfixLog(pf.maillog()).every((s) => 'commands' in s.counts),
            'Postfix to deliver both messages and log both disconnects',
            20_000,
          );
          await waitUntil(
            () => existsSync(json) && readFileSync(json, 'utf8').trim().split('\n').length >= 2,
            'smtpscope to write both sessions',
            10_000,
          );
          const c = capture;
          capture = null;
          const exit = await c.stop();
          expect(exit.code, exit.stderr).toBe(0);

          // In the order Postfix logged the connections (the order swaks made them).
          const logged = parsePostfixLog(postfix.maillog());
          const docs: Doc[] = readFileSync(json, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l));
          expect(logged).toHaveLength(2);
          expect(docs.map((d) => d.source.port).sort()).toEqual(logged.map((s) => s.clientPort).sort());
          const seen = logged.map((s) => asPostfixLogs(docs.find((d) => d.source.port === s.clientPort)));
          // Every session, recipient, queue id, refusal reply and command count as Postfix logged them.
          expect(seen).toEqual(logged);
          // What the log says, written out, so a log that lost its lines cannot make the comparison empty.
          expect(logged.map((s) => s.counts)).toEqual([
            { ehlo: '1', mail: '1', rcpt: '2/3', data: '1', quit: '1', commands: '6/7' },
            { ehlo: '1', mail: '1', rcpt: '2/3', data: '1', quit: '1', commands: '6/7' },
          ]);
          expect(logged.map((s) => s.delivered)).toEqual([
            ['ok1@sink.test', 'ok2@sink.test'],
            ['ok3@sink.test', 'ok4@sink.test'],
          ]);
          for (const s of logged) {
            expect(s.queueIds).toHaveLength(1);
            expect(s.rejected).toEqual([
              { address: REFUSED, reply: `550 5.1.1 <${REFUSED}>: Recipient address rejected: User unknown` },
            ]);
          }
          // The pipelined session's commands went out in one batch, as smtpscope saw.
          const pipelined = docs.find((d) => d.source.port === logged[1]?.clientPort);
          expect(pipelined.smtp.commands.some((cmd: Doc) => cmd.pipelined === true)).toBe(true);
        } finally {
          if (capture !== null) await capture.stop().catch(() => undefined);
          await postfix?.stop();
        }
      },
      60_000,
    );
  }
});
