/**
 * Memory soak of live capture: drives thousands of SMTP sessions through smtpscope capturing on the loopback
 * interface and reports the capturing process's resident memory as it goes, with the number of sessions it
 * wrote to sessions.csv against the number sent.
 *
 * Run it (as root, with the `cap` addon built, after `npm run build`):
 *
 *   node dist-harness/test/harness/soak/soak.js [--sessions 3000] [--concurrency 20] [--recipients 4] [--sample-every 250]
 *                       [--helper tcpdump|cap]
 *
 * With `--helper tcpdump` (the default) smtpscope captures through tcpdump, which counts the kernel's drops:
 * the soak passes when every session and recipient row it did not get is accounted for by a counted drop
 * (`lossAccounting`). With `cap`, which cannot count drops, every row must be there.
 *
 * The mail server is smtp-server (a development dependency) on a free port of 127.0.0.1; the clients are raw
 * sockets that pipeline MAIL, RCPT and DATA, so each session costs the generator little. One recipient in
 * every session is refused with 550 5.1.1. smtpscope writes both CSV and NDJSON; at each sample the soak asks
 * it (gc-probe.mjs, SIGUSR2) for a full collection and reads the heap left. All traffic stays on 127.0.0.1 and
 * every wait is bounded.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SMTPServer } from 'smtp-server';
import { REPO_ROOT } from '../repo-root.js';
import {
  type CliChild,
  type CliExit,
  defaultCliPath,
  readRssKib,
  startCli,
  waitForExit,
  waitUntilCapturing,
} from './cli-child.js';

/** The probe preloaded into the CLI: plain JavaScript, so the built CLI can load it whether the soak runs compiled or as TypeScript. */
const GC_PROBE = join(REPO_ROOT, 'test', 'harness', 'soak', 'gc-probe.mjs');

export interface SoakOptions {
  /** Sessions to send (default 3000). */
  readonly sessions: number;
  /** Sessions in flight at once (default 20). */
  readonly concurrency: number;
  /** RCPT commands per session, one of them refused (default 4; at least 2). */
  readonly recipients: number;
  /** Take a memory sample every this many completed sessions (default 250). */
  readonly sampleEvery: number;
  /** Message body size in bytes (default 2048). */
  readonly bodyBytes: number;
  /** smtpscope's kernel capture buffer, `-B`, in MiB (default 64; see docs/LIVE.md "Soak" on drops). */
  readonly bufferMb: number;
  /**
   * How smtpscope captures (`--live-helper`): `tcpdump` (the default here) reports the kernel's drop count, so
   * every row the soak did not get can be checked against a counted drop; `cap` cannot count them.
   */
  readonly helper: 'cap' | 'tcpdump';
  /** The built CLI (default: the product's dist/cli/bin.js). */
  readonly cliPath?: string;
  /**
   * Node options for the smtpscope process. Default: `--trace-gc` (heapAfterFullGcMib) and `--expose-gc
   * --import gc-probe.mjs` from beside this module (heapAfterForcedGcMib).
   */
  readonly nodeArgs?: readonly string[];
  /** Called with each sample as it is taken. */
  readonly onSample?: (sample: SoakSample) => void;
}

export const DEFAULT_SOAK_OPTIONS: SoakOptions = {
  sessions: 3000,
  concurrency: 20,
  recipients: 4,
  sampleEvery: 250,
  bodyBytes: 2048,
  bufferMb: 64,
  helper: 'tcpdump',
};

export interface SoakSample {
  /** Sessions completed by the clients when the sample was taken. */
  readonly sent: number;
  /** Rows in sessions.csv at that moment (sessions smtpscope has closed and written). */
  readonly captured: number;
  /** Lines in the NDJSON file at that moment. */
  readonly capturedJson: number;
  /** smtpscope's resident set size in KiB. */
  readonly rssKib: number;
  /**
   * JavaScript heap in use after the latest full garbage collection (MiB), read from `--trace-gc` output when
   * the soak passes `--trace-gc` to smtpscope (the default); null before the first one. Unlike RSS, which
   * follows V8's heap sizing, this is what the process actually keeps alive.
   */
  readonly heapAfterFullGcMib: number | null;
  /**
   * Heap in use right after a full collection the soak asked for at this sample (MiB, gc-probe.mjs); null when
   * the probe is not loaded or did not answer within 3 s.
   */
  readonly heapAfterForcedGcMib: number | null;
  readonly elapsedMs: number;
}

export interface SoakReport {
  readonly options: SoakOptions;
  readonly samples: readonly SoakSample[];
  /** Sessions the clients completed (221 to QUIT received), and those that failed. */
  readonly sent: number;
  readonly clientFailures: number;
  /** Rows of the CSV files after smtpscope exited. */
  readonly sessionsCaptured: number;
  /** Lines of the NDJSON file after smtpscope exited. */
  readonly jsonSessionsCaptured: number;
  /**
   * Sessions the clients completed whose HELO name (`soak<N>.client.test`) is missing from sessions.csv / the
   * NDJSON file (the first 20).
   */
  readonly missingFromCsv: readonly number[];
  readonly missingFromJson: readonly number[];
  readonly recipientsCaptured: number;
  readonly rejectedCaptured: number;
  readonly recipientsSent: number;
  readonly rejectedSent: number;
  readonly exit: CliExit;
  readonly durationMs: number;
  /** What smtpscope wrote to standard output (its end-of-run summary). */
  readonly output: string;
  /** Packets the capture reported dropped (the summary's `dropped`); null when it could not tell (`cap`). */
  readonly dropped: number | null;
}

/** The `dropped` count of an end-of-run summary; null when absent or `n/a`. */
export function summaryDropped(summary: string): number | null {
  const m = /^ +dropped +(\d+) *$/m.exec(summary);
  return m === null ? null : Number(m[1]);
}

/**
 * Rows the soak did not get (sessions missing from either file, recipients missing from recipients.csv) and
 * whether counted drops account for them: every missing row needs a dropped packet, and one packet carries
 * at most one session's pipelined commands, so the recipients missing are at most `recipients` times the drops.
 */
export function lossAccounting(report: SoakReport): {
  readonly sessionsMissing: number;
  readonly recipientsMissing: number;
  readonly accounted: boolean;
} {
  const sessionsMissing = Math.max(
    report.sent - Math.min(report.sessionsCaptured, report.jsonSessionsCaptured),
    report.missingFromCsv.length,
    report.missingFromJson.length,
  );
  const recipientsMissing = Math.max(0, report.recipientsSent - report.recipientsCaptured);
  const dropped = report.dropped ?? 0;
  const accounted =
    (sessionsMissing === 0 && recipientsMissing === 0) ||
    (dropped > 0 && recipientsMissing <= report.options.recipients * dropped && sessionsMissing <= dropped);
  return { sessionsMissing, recipientsMissing, accounted };
}

interface SessionResult {
  readonly index: number;
  readonly ok: boolean;
  readonly recipients: number;
  readonly rejected: number;
}

/**
 * One SMTP session over a raw socket: greeting, EHLO, then MAIL + RCPT x n + DATA pipelined, the body, QUIT
 * (pipelined after the end of data). Resolves once the connection has closed; never rejects.
 */
function smtpSession(port: number, index: number, recipients: number, body: string): Promise<SessionResult> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setEncoding('latin1');
    let pending = '';
    let stage = 0;
    let expected = 1;
    const codes: number[] = [];
    let ok = false;
    let rejected = 0;
    const timer = setTimeout(() => socket.destroy(), 20_000);
    const send = (text: string, replies: number): void => {
      expected = replies;
      codes.length = 0;
      socket.write(text);
    };
    const advance = (): void => {
      stage++;
      if (stage === 1) send(`EHLO soak${index}.client.test\r\n`, 1);
      else if (stage === 2) {
        let batch = `MAIL FROM:<sender${index}@client.test>\r\n`;
        for (let r = 0; r < recipients; r++) {
          const refused = r === 1;
          batch += `RCPT TO:<${refused ? 'unknown' : 'user'}${index}-${r}@soak.test>\r\n`;
        }
        send(`${batch}DATA\r\n`, recipients + 2);
      } else if (stage === 3) {
        rejected = codes.filter((c) => c === 550).length;
        if (codes[codes.length - 1] === 354) {
          send(
            `Subject: soak ${index}\r\nMessage-ID: <soak${index}@client.test>\r\n\r\n${body}.\r\nQUIT\r\n`,
            2,
          );
        } else {
          stage = 4;
          send('QUIT\r\n', 1);
        }
      } else if (stage === 4) {
        ok = codes[0] === 250 && codes[1] === 221;
      } else {
        ok = ok || codes[0] === 221;
      }
    };
    socket.on('data', (chunk: string) => {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.charAt(3) === '-') continue;
        codes.push(Number(line.slice(0, 3)));
        if (--expected === 0) advance();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ index, ok, recipients, rejected });
    });
  });
}

async function startServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = new SMTPServer({
    name: 'mx.soak.test',
    logger: false,
    disableReverseLookup: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    maxClients: 1000,
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('unknown')) {
        callback(
          Object.assign(new Error(`5.1.1 <${address.address}>: Recipient address rejected`), {
            responseCode: 550,
          }),
        );
      } else callback();
    },
    onData(stream, _session, callback) {
      stream.on('data', () => {});
      stream.on('end', () => callback(null, 'OK: queued'));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.on('error', () => {});
  const address = server.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function fileLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  } catch {
    return [];
  }
}

/** Data rows of a CSV file smtpscope writes (one line per row: no cell of these files holds a line break). */
function csvRows(path: string): string[] {
  return fileLines(path).slice(1);
}

/** Session numbers of the soak's HELO names (`soak<N>.client.test`), one per row or NDJSON line. */
function soakIndices(rows: readonly string[]): Set<number> {
  const seen = new Set<number>();
  for (const row of rows) {
    const m = /soak(\d+)\.client\.test/.exec(row);
    if (m !== null) seen.add(Number(m[1]));
  }
  return seen;
}

const PROBE_LINE = /smtpscope-gc-probe (?:heap-used-bytes (\d+)|no-gc)\n/g;

/** Asks the probe in `cli` for a full collection and waits (3 s at most) for its answer, in MiB. */
async function forcedGcHeapMib(cli: CliChild): Promise<number | null> {
  const before = [...cli.stderr().matchAll(PROBE_LINE)].length;
  try {
    process.kill(cli.pid, 'SIGUSR2');
  } catch {
    return null;
  }
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    const answers = [...cli.stderr().matchAll(PROBE_LINE)];
    if (answers.length > before) {
      const bytes = answers.at(-1)?.[1];
      return bytes === undefined ? null : Math.round((Number(bytes) / 1024 / 1024) * 10) / 10;
    }
    await sleep(20);
  }
  return null;
}

/** Heap sizes after each full collection (`Mark-Compact A (B) -> C (D) MB` lines of `--trace-gc`), in MiB. */
export function fullGcHeapsMib(traceOutput: string): number[] {
  const heaps: number[] = [];
  for (const match of traceOutput.matchAll(/Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \(/g))
    heaps.push(Number(match[1]));
  return heaps;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runSoak(partial: Partial<SoakOptions> = {}): Promise<SoakReport> {
  const options: SoakOptions = { ...DEFAULT_SOAK_OPTIONS, ...partial };
  if (options.recipients < 2) throw new RangeError('recipients must be at least 2 (one of them is refused)');
  const work = mkdtempSync(join(tmpdir(), 'smtpscope-soak-'));
  const csvDir = join(work, 'csv');
  const sessionsCsv = join(csvDir, 'sessions.csv');
  const ndjson = join(work, 'sessions.ndjson');
  const cliPath = options.cliPath ?? defaultCliPath();
  const probe = GC_PROBE;
  const server = await startServer();
  const cli = startCli(
    [
      '-i',
      'lo',
      '-f',
      `tcp port ${server.port}`,
      '--ports',
      String(server.port),
      '--csv',
      csvDir,
      '--json',
      ndjson,
      '-B',
      String(options.bufferMb),
      '--live-helper',
      options.helper,
    ],
    {
      cliPath,
      nodeArgs: options.nodeArgs ?? ['--trace-gc', '--expose-gc', '--import', pathToFileURL(probe).href],
    },
  );
  const started = Date.now();
  const samples: SoakSample[] = [];
  const sample = async (sent: number): Promise<void> => {
    const rssKib = readRssKib(cli.pid);
    if (rssKib === null) return;
    const elapsedMs = Date.now() - started;
    const captured = csvRows(sessionsCsv).length;
    const capturedJson = fileLines(ndjson).length;
    const heapAfterFullGcMib = fullGcHeapsMib(cli.stdout()).at(-1) ?? null;
    const s: SoakSample = {
      sent,
      captured,
      capturedJson,
      rssKib,
      heapAfterFullGcMib,
      heapAfterForcedGcMib: await forcedGcHeapMib(cli),
      elapsedMs,
    };
    samples.push(s);
    options.onSample?.(s);
  };
  try {
    await waitUntilCapturing(cli, 15_000);
    await sample(0);
    const body = `${'soak body line of text\r\n'.repeat(Math.max(1, Math.ceil(options.bodyBytes / 24)))}`;
    let next = 0;
    let completed = 0;
    let failures = 0;
    let recipientsSent = 0;
    let rejectedSent = 0;
    const completedIndices: number[] = [];
    const worker = async (): Promise<void> => {
      while (next < options.sessions) {
        const index = next++;
        const result = await smtpSession(server.port, index, options.recipients, body);
        completed++;
        if (!result.ok) failures++;
        else completedIndices.push(result.index);
        recipientsSent += result.recipients;
        rejectedSent += result.rejected;
        if (completed % options.sampleEvery === 0 && completed < options.sessions) await sample(completed);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, () => worker()));
    // The last sessions close within milliseconds; give the analysis a bounded moment to write them.
    const deadline = Date.now() + 15_000;
    while (
      (csvRows(sessionsCsv).length < completed || fileLines(ndjson).length < completed) &&
      Date.now() < deadline
    )
      await sleep(100);
    await sample(completed);
    cli.process.kill('SIGINT');
    const exit = await waitForExit(cli, 30_000);
    const recipientRows = csvRows(join(csvDir, 'recipients.csv'));
    const sessionRows = csvRows(sessionsCsv);
    const jsonLines = fileLines(ndjson);
    const missing = (seen: Set<number>): number[] =>
      completedIndices
        .filter((i) => !seen.has(i))
        .sort((a, b) => a - b)
        .slice(0, 20);
    return {
      options,
      samples,
      sent: completed - failures,
      clientFailures: failures,
      sessionsCaptured: sessionRows.length,
      jsonSessionsCaptured: jsonLines.length,
      missingFromCsv: missing(soakIndices(sessionRows)),
      missingFromJson: missing(soakIndices(jsonLines)),
      recipientsCaptured: recipientRows.length,
      rejectedCaptured: recipientRows.filter((r) => r.includes('"rejected-rcpt"')).length,
      recipientsSent,
      rejectedSent,
      exit,
      durationMs: Date.now() - started,
      output: cli.stdout(),
      dropped: summaryDropped(cli.stdout()),
    };
  } finally {
    if (cli.process.exitCode === null && cli.process.signalCode === null) cli.process.kill('SIGKILL');
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

const mib = (kib: number): string => (kib / 1024).toFixed(1);

/** The report as a Markdown table plus a summary line (what docs/LIVE.md shows). */
export function formatSoakReport(report: SoakReport): string {
  const rows = [
    '| sessions sent | sessions in sessions.csv | NDJSON lines | RSS (MiB) | heap after last full GC (MiB) | heap after forced GC (MiB) | elapsed (s) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const s of report.samples)
    rows.push(
      `| ${s.sent} | ${s.captured} | ${s.capturedJson} | ${mib(s.rssKib)} | ${s.heapAfterFullGcMib ?? '-'} | ` +
        `${s.heapAfterForcedGcMib ?? '-'} | ${(s.elapsedMs / 1000).toFixed(1)} |`,
    );
  const first = report.samples[0];
  const last = report.samples[report.samples.length - 1];
  const growth = first !== undefined && last !== undefined ? mib(last.rssKib - first.rssKib) : 'n/a';
  return (
    `${rows.join('\n')}\n\n` +
    `Sent ${report.sent} sessions (${report.clientFailures} client failures), ${report.recipientsSent} recipients ` +
    `(${report.rejectedSent} refused). Captured ${report.sessionsCaptured} sessions (NDJSON ${report.jsonSessionsCaptured}), ${report.recipientsCaptured} ` +
    `recipients (${report.rejectedCaptured} rejected-rcpt); packets dropped: ${report.dropped ?? 'n/a'} ` +
    `(--live-helper ${report.options.helper}). RSS change start to end: ${growth} MiB. ` +
    `smtpscope exit code ${report.exit.code}; ${(report.durationMs / 1000).toFixed(1)} s in all.\n`
  );
}

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`--${name} takes a positive whole number`);
  return n;
}

async function cli(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      sessions: { type: 'string' },
      concurrency: { type: 'string' },
      recipients: { type: 'string' },
      'sample-every': { type: 'string' },
      'body-bytes': { type: 'string' },
      'buffer-mb': { type: 'string' },
      helper: { type: 'string' },
    },
  });
  const helper = values.helper ?? DEFAULT_SOAK_OPTIONS.helper;
  if (helper !== 'cap' && helper !== 'tcpdump')
    throw new RangeError(`--helper takes cap or tcpdump, not '${helper}'`);
  const d = DEFAULT_SOAK_OPTIONS;
  const report = await runSoak({
    sessions: positive('sessions', values.sessions, d.sessions),
    concurrency: positive('concurrency', values.concurrency, d.concurrency),
    recipients: positive('recipients', values.recipients, d.recipients),
    sampleEvery: positive('sample-every', values['sample-every'], d.sampleEvery),
    bodyBytes: positive('body-bytes', values['body-bytes'], d.bodyBytes),
    bufferMb: positive('buffer-mb', values['buffer-mb'], d.bufferMb),
    helper,
    onSample: (s) =>
      process.stderr.write(
        `sent ${s.sent}  captured ${s.captured} (NDJSON ${s.capturedJson})  rss ${mib(s.rssKib)} MiB  ` +
          `heap ${s.heapAfterFullGcMib ?? '-'} MiB (forced GC ${s.heapAfterForcedGcMib ?? '-'} MiB)\n`,
      ),
  });
  process.stdout.write(formatSoakReport(report));
  // Every row not in the files must be accounted for by a counted drop (none at all with `cap`, which counts none).
  return report.exit.code === 0 && lossAccounting(report).accounted && report.clientFailures === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  cli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
