/**
 * `npm run adversarial` (`node dist-harness/test/harness/adversarial/run.js [--scale F] [--only NAME,...] [--timeout-s S]`): writes
 * each adversarial capture (scenarios.ts, full size unless `--scale`) into a temporary folder, runs the built
 * command line on it in a child process under `/usr/bin/time`, and prints a markdown table: wall time, peak
 * resident memory of the child, whether the scenario's anomaly or warning was reported, and whether the intact
 * session came out with its sender, both recipients delivered and its message complete. Captures are written
 * one at a time and removed after their run, so the disk holds one at a time.
 *
 * The child runs `smtpscope FILE --summary --csv-transactions T --csv-recipients R`: the summary gives the
 * counts the checks read (how sessions ended, capture quality, anomalies, warnings), the two CSV files the
 * intact session. The scenarios with `allOutputs` (300,000 connection attempts, 1,000,000 short sessions) also
 * write `--csv DIR --json FILE --connection-attempts --extract DIR` in that run, and run twice more on the same
 * capture: `smtpscope bounces FILE --csv F`, and `--clickhouse` at a port where no server listens (every row goes to
 * the spill file); each of their runs must stay under 200 MiB of peak RSS (SINK_RSS_BOUND_MIB). Exit code: 0 when
 * every scenario passed, 1 otherwise.
 */

import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { freePort } from '../free-port.js';
import { PRODUCT_CLI } from '../repo-root.js';
import { INTACT_CLIENT_IP, INTACT_RECIPIENTS, INTACT_SENDER } from './intact-session.js';
import {
  type LengthLie,
  writeBdat4g,
  writeLengthLie,
  writeLongLine,
  writeOutOfOrder,
  writeOverlap,
  writePipelined,
  writeShortSessions,
  writeSynFlood,
} from './scenarios.js';

/** The text summary, cut into its sections: section title → key → value (the text after the key). */
export type SummarySections = ReadonlyMap<string, ReadonlyMap<string, string>>;

/** Parses the `--summary` text into its titled sections ("Anomalies:", "Capture quality:", ...). */
export function parseSummarySections(text: string): SummarySections {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | null = null;
  for (const line of text.split('\n')) {
    const title = /^([A-Z][^:]*):\s*$/.exec(line);
    if (title !== null) {
      current = new Map();
      sections.set(title[1]!, current);
      continue;
    }
    if (line.trim() === '') {
      current = null;
      continue;
    }
    if (current === null || !line.startsWith('  ')) continue;
    // "  key  value": the key ends at the first run of two spaces (or " at byte" in warnings).
    const m = /^ {2}(\S+(?: \S+)*?)(?: {2,}| at byte )(.*)$/.exec(line);
    if (m !== null) current.set(m[1]!, m[2]!.trim());
    else current.set(line.trim(), '');
  }
  return sections;
}

/** The number at the end of a summary value (`10000`, `link-truncated 22`); 0 when there is none. */
function trailingNumber(value: string | undefined): number {
  const m = /(\d+)\s*$/.exec(value ?? '');
  return m === null ? 0 : Number(m[1]);
}

/** Splits one CSV line whose cells are quoted or bare (smtpscope's CSV has no line breaks inside cells). */
export function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let cell = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q === -1) {
          cell += line.slice(i);
          i = line.length;
          break;
        }
        cell += line.slice(i, q);
        if (line[q + 1] === '"') {
          cell += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      cells.push(cell);
      i++; // the comma
    } else {
      const comma = line.indexOf(',', i);
      const end = comma === -1 ? line.length : comma;
      cells.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return cells;
}

/** Rows of a CSV file for which `keep` is true, as objects (streamed: the file may be large). */
async function csvRows(path: string, keep: (row: Record<string, string>) => boolean) {
  const rows: Record<string, string>[] = [];
  if (!existsSync(path)) return rows;
  let header: string[] | null = null;
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line === '') continue;
    const cells = splitCsvLine(line);
    if (header === null) {
      header = cells;
      continue;
    }
    const row: Record<string, string> = {};
    header.forEach((name, k) => {
      row[name] = cells[k] ?? '';
    });
    if (keep(row)) rows.push(row);
  }
  return rows;
}

interface Scenario {
  readonly name: string;
  readonly file: string;
  /** What the capture holds, for the table. */
  readonly what: string;
  write(path: string, scale: number): void;
  /** What the summary must show (its sections, and its whole text); a short description of what was found. */
  evidence(summary: SummarySections, scale: number, text: string): { ok: boolean; text: string };
  /** Exit code the run must end with: 0, or 1 for a damaged capture (README, "Exit codes"). */
  readonly exit?: 0 | 1;
  /** Also write every output (--csv DIR, --json FILE with attempt records, --extract DIR) and measure that. */
  readonly allOutputs?: boolean;
}

/** `Sessions: N` and `Connection attempts (...): N` of the summary text (0 when absent). */
function headline(text: string): { sessions: number; attempts: number } {
  const sessions = /^Sessions: (\d+)/m.exec(text)?.[1];
  const attempts = /^Connection attempts[^:]*: (\d+)/m.exec(text)?.[1];
  return { sessions: Number(sessions ?? 0), attempts: Number(attempts ?? 0) };
}

const scaled = (full: number, least: number, scale: number) => Math.max(least, Math.round(full * scale));

const countIn = (summary: SummarySections, section: string, key: string): number =>
  trailingNumber(summary.get(section)?.get(key));

const anomaly = (code: string) => (summary: SummarySections) => {
  const n = countIn(summary, 'Anomalies', code);
  return { ok: n > 0, text: `${code} ×${n}` };
};

const warningOf = (code: string) => (summary: SummarySections) => {
  const ok = summary.get('Warnings')?.has(code) === true;
  return { ok, text: ok ? `warning ${code}` : `no ${code} warning` };
};

const DEFAULT_MAX_CONNECTIONS = 16_384;
/** Packets of the intact session before its first byte (scenarios.ts: SYN, SYN+ACK, ACK). */
const INTACT_HANDSHAKE_PACKETS = 3;

/**
 * A SYN flood of `full` connections (scaled): every SYN is a connection attempt, not a session, and the intact
 * session is the only session. Past the connection limit, when more flood SYNs than a worker's table holds come
 * between two packets of the intact session (at full size 25,000), each of its three handshake packets (SYN,
 * SYN+ACK, ACK) is, on its own, a connection without a byte like the flood's and is evicted with them: up to three
 * attempts more, while the intact session is reported whole from its first byte on (checked apart). No other
 * extra attempt is allowed.
 */
function synFloodEvidence(full: number) {
  return (summary: SummarySections, s: number, text: string) => {
    const connections = scaled(full, 100, s);
    const { sessions, attempts } = headline(text);
    const evicted = trailingNumber(summary.get('How sessions ended')?.get('evicted'));
    const extra = attempts - connections;
    const ok =
      sessions === 1 &&
      (extra === 0 ||
        (connections > DEFAULT_MAX_CONNECTIONS && extra > 0 && extra <= INTACT_HANDSHAKE_PACKETS));
    return { ok, text: `${attempts} attempts, ${sessions} session(s), ${evicted} evicted` };
  };
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'syn-flood',
    file: 'syn-flood.pcap',
    what: '1,000,000 SYNs from distinct clients',
    write: (p, s) => writeSynFlood(p, { connections: scaled(1_000_000, 100, s) }),
    evidence: synFloodEvidence(1_000_000),
  },
  {
    name: 'attempts-300k',
    file: 'attempts-300k.pcap',
    what: '300,000 SYNs, every output written',
    write: (p, s) => writeSynFlood(p, { connections: scaled(300_000, 100, s) }),
    evidence: synFloodEvidence(300_000),
    allOutputs: true,
  },
  {
    name: 'short-sessions',
    file: 'short-sessions.pcap',
    what: '1,000,000 short complete sessions, 200 open at once, every output written',
    write: (p, s) => writeShortSessions(p, { sessions: scaled(1_000_000, 200, s) }),
    evidence(_summary, s, text) {
      const { sessions } = headline(text);
      const want = scaled(1_000_000, 200, s) + 1;
      return { ok: sessions === want, text: `${sessions} sessions` };
    },
    allOutputs: true,
  },
  {
    name: 'long-line',
    file: 'long-line.pcap',
    what: '100 MB line without a line ending',
    write: (p, s) => writeLongLine(p, { bytes: scaled(100 * 1024 * 1024, 10_000, s) }),
    evidence: anomaly('line-too-long'),
  },
  {
    name: 'out-of-order',
    file: 'out-of-order.pcap',
    what: '48 connections × 3 MiB beyond a hole that never fills',
    write: (p, s) =>
      writeOutOfOrder(p, {
        connections: scaled(48, 2, s),
        bytesPerConnection: scaled(3 * 1024 * 1024, 10_000, s),
      }),
    evidence(summary, s) {
      const gaps = countIn(summary, 'Capture quality', 'sessions with gaps');
      return { ok: gaps === scaled(48, 2, s), text: `${gaps} sessions with gaps` };
    },
  },
  {
    name: 'overlap',
    file: 'overlap.pcap',
    what: '1000 RCPTs retransmitted with conflicting bytes',
    write: (p, s) => writeOverlap(p, { repeats: scaled(1000, 10, s) }),
    evidence(summary) {
      const n = countIn(summary, 'Capture quality', 'overlaps with differing bytes');
      return { ok: n > 0, text: `${n} overlaps with differing bytes` };
    },
  },
  {
    name: 'pipelined',
    file: 'pipelined.pcap',
    what: '10,000 unanswered pipelined commands',
    write: (p, s) => writePipelined(p, { commands: scaled(10_000, 1_100, s) }),
    evidence: anomaly('excessive-pending-commands'),
  },
  {
    name: 'bdat-4g',
    file: 'bdat-4g.pcap',
    what: 'BDAT announcing 4 GB, 32 MiB sent',
    write: (p, s) => writeBdat4g(p, { bytesSent: scaled(32 * 1024 * 1024, 10_000, s) }),
    evidence: anomaly('bdat-chunk-too-large'),
  },
  ...(['pcap', 'pcapng'] as const).flatMap((format) =>
    (['zero', 'huge', 'past-end'] as LengthLie[]).map(
      (lie): Scenario => ({
        name: `${format}-length-${lie}`,
        file: `${format}-length-${lie}.${format}`,
        what: `${format === 'pcap' ? 'record' : 'block'} length ${lie === 'past-end' ? 'past the end' : lie}`,
        write: (p) => writeLengthLie(p, format, lie),
        exit: 1,
        evidence: warningOf(
          lie === 'past-end'
            ? 'truncated-record'
            : format === 'pcapng' && lie === 'zero'
              ? 'bad-block-length'
              : 'oversized-record',
        ),
      }),
    ),
  ),
];

export interface ScenarioResult {
  readonly name: string;
  readonly what: string;
  readonly captureBytes: number;
  readonly exitCode: number | null;
  readonly expectedExit: number;
  readonly signal: string | null;
  readonly wallSeconds: number;
  readonly peakRssMiB: number;
  readonly evidence: { ok: boolean; text: string };
  readonly intact: { ok: boolean; text: string };
  readonly stderrTail: string;
  /** Peak RSS the runs must stay under (the output-independent bound of docs/LIMITS.md); null: none. */
  readonly rssBoundMiB?: number | null;
  /** The further runs of an `allOutputs` scenario, one per sink measured apart. */
  readonly sinkRuns?: readonly SinkRun[];
}

/** One further run of a scenario's capture with another sink. */
export interface SinkRun {
  readonly sink: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly wallSeconds: number;
  readonly peakRssMiB: number;
  readonly text: string;
}

/** Peak RSS every run of an `allOutputs` scenario must stay under, whatever the number of sessions (issue #19). */
export const SINK_RSS_BOUND_MIB = 200;

/** Checks the intact session in the CSV files: sender, both recipients delivered, message complete. */
async function checkIntact(
  transactionsCsv: string,
  recipientsCsv: string,
): Promise<{ ok: boolean; text: string }> {
  const transactions = await csvRows(transactionsCsv, (r) => r['client_ip'] === INTACT_CLIENT_IP);
  if (transactions.length !== 1) return { ok: false, text: `${transactions.length} intact transactions` };
  const t = transactions[0]!;
  const id = t['session_id'];
  const recipients = await csvRows(recipientsCsv, (r) => r['session_id'] === id);
  const addresses = recipients.map((r) => r['address']).join(' ');
  const delivered = recipients.filter((r) => r['disposition'] === 'delivered').length;
  const ok =
    t['mail_from'] === INTACT_SENDER &&
    t['message_complete'] === 'true' &&
    addresses === INTACT_RECIPIENTS.join(' ') &&
    delivered === INTACT_RECIPIENTS.length;
  return {
    ok,
    text: ok
      ? `${delivered}/${INTACT_RECIPIENTS.length} delivered`
      : `from ${t['mail_from']}, complete ${t['message_complete']}, rcpts ${addresses || '-'} (${delivered} delivered)`,
  };
}

function runChild(
  argv: readonly string[],
  timeoutMs: number,
): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'ignore'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** Runs the CLI with `args` under GNU time; stdout and stderr go to files of `dir` named after `label`. */
async function timedRun(
  dir: string,
  label: string,
  cli: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<{
  code: number | null;
  signal: string | null;
  wall: number;
  rssMiB: number;
  out: string;
  err: string;
}> {
  const out = join(dir, `${label}.out`);
  const stderr = join(dir, `${label}.err`);
  const timing = join(dir, `${label}.time`);
  const script = `exec "$0" "$@" >"${out}" 2>"${stderr}"`;
  const argv = [
    '/usr/bin/time',
    '-f',
    '%e %M',
    '-o',
    timing,
    'sh',
    '-c',
    script,
    process.execPath,
    cli,
    ...args,
  ];
  const { code, signal } = await runChild(argv, timeoutMs);
  const timeText = existsSync(timing) ? readFileSync(timing, 'utf8').trim().split('\n').at(-1)! : '';
  const [wall, rssKb] = timeText.split(' ').map(Number);
  return {
    code,
    signal,
    wall: wall ?? Number.NaN,
    rssMiB: (rssKb ?? Number.NaN) / 1024,
    out: existsSync(out) ? readFileSync(out, 'utf8') : '',
    err: existsSync(stderr) ? readFileSync(stderr, 'utf8') : '',
  };
}

const tail = (text: string): string => text.trim().split('\n').slice(-3).join(' | ');

/**
 * The runs of an `allOutputs` scenario besides the one with every file output: `bounces` (a streaming report
 * that keeps only its aggregates) and the ClickHouse sink with its server stopped, so that every row goes to the
 * spill file. Each must stay under {@link SINK_RSS_BOUND_MIB}.
 */
async function sinkRuns(
  scenario: Scenario,
  capture: string,
  dir: string,
  cli: string,
  timeoutMs: number,
): Promise<SinkRun[]> {
  const runs: SinkRun[] = [];
  const bouncesCsv = join(dir, `${scenario.name}.bounces.csv`);
  const b = await timedRun(
    dir,
    `${scenario.name}.bounces`,
    cli,
    ['bounces', capture, '--csv', bouncesCsv],
    timeoutMs,
  );
  const failures = /^(\d+) failure/m.exec(b.out)?.[1];
  runs.push({
    sink: '`bounces`',
    exitCode: b.code,
    signal: b.signal,
    wallSeconds: b.wall,
    peakRssMiB: b.rssMiB,
    text:
      b.code === 0
        ? `report of ${b.out.length} bytes${failures === undefined ? '' : `, ${failures} failures`}`
        : tail(b.err),
  });
  rmSync(bouncesCsv, { force: true });
  const spill = join(dir, `${scenario.name}.spill.ndjson`);
  const port = await freePort();
  const c = await timedRun(
    dir,
    `${scenario.name}.clickhouse`,
    cli,
    [
      capture,
      '--summary',
      '--clickhouse',
      `http://127.0.0.1:${port}`,
      '--clickhouse-spill',
      spill,
      '--connection-attempts',
    ],
    timeoutMs,
  );
  const spilled = /(\d+) rows are in /.exec(c.err)?.[1];
  const spillBytes = existsSync(spill) ? statSync(spill).size : 0;
  runs.push({
    sink: '`--clickhouse` (server stopped: spill)',
    exitCode: c.code,
    signal: c.signal,
    wallSeconds: c.wall,
    peakRssMiB: c.rssMiB,
    text: spilled === undefined ? `no spill: ${tail(c.err)}` : `${spilled} rows spilled (${mib(spillBytes)})`,
  });
  rmSync(spill, { force: true });
  return runs;
}

export async function runScenario(
  scenario: Scenario,
  dir: string,
  cli: string,
  scale: number,
  timeoutMs: number,
): Promise<ScenarioResult> {
  const capture = join(dir, scenario.file);
  scenario.write(capture, scale);
  const { size } = statSync(capture);
  const transactions = join(dir, `${scenario.name}.transactions.csv`);
  const recipients = join(dir, `${scenario.name}.recipients.csv`);
  const args = [
    capture,
    '--summary',
    '--csv-transactions',
    transactions,
    '--csv-recipients',
    recipients,
    ...(scenario.allOutputs === true
      ? [
          '--csv',
          join(dir, `${scenario.name}.csv`),
          '--json',
          join(dir, `${scenario.name}.ndjson`),
          '--connection-attempts',
          '--extract',
          join(dir, `${scenario.name}.eml`),
        ]
      : []),
  ];
  const run = await timedRun(dir, scenario.name, cli, args, timeoutMs);
  for (const suffix of ['.csv', '.ndjson', '.eml'])
    rmSync(join(dir, `${scenario.name}${suffix}`), { recursive: true, force: true });
  const sinks = scenario.allOutputs === true ? await sinkRuns(scenario, capture, dir, cli, timeoutMs) : [];
  rmSync(capture, { force: true });
  const summary = parseSummarySections(run.out);
  return {
    name: scenario.name,
    what: scenario.what,
    captureBytes: size,
    exitCode: run.code,
    expectedExit: scenario.exit ?? 0,
    signal: run.signal,
    wallSeconds: run.wall,
    peakRssMiB: run.rssMiB,
    rssBoundMiB: scenario.allOutputs === true ? SINK_RSS_BOUND_MIB : null,
    evidence: scenario.evidence(summary, scale, run.out),
    intact: await checkIntact(transactions, recipients),
    stderrTail: tail(run.err),
    sinkRuns: sinks,
  };
}

const mib = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;

/** Whether a run stayed under its scenario's RSS bound (always, without one). */
const underBound = (rssMiB: number, bound: number | null | undefined): boolean =>
  bound === null || bound === undefined || rssMiB < bound;

/** Whether a scenario passed: exit code, evidence, intact session, and every run under the RSS bound. */
export function passed(r: ScenarioResult): boolean {
  return (
    r.exitCode === r.expectedExit &&
    r.evidence.ok &&
    r.intact.ok &&
    underBound(r.peakRssMiB, r.rssBoundMiB) &&
    (r.sinkRuns ?? []).every((s) => s.exitCode === 0 && underBound(s.peakRssMiB, r.rssBoundMiB))
  );
}

/** The markdown table of the results: one row per scenario, then one per further sink run. */
export function resultTable(results: readonly ScenarioResult[]): string {
  const lines = [
    '| scenario | capture | exit | wall time | peak RSS | reported | intact session |',
    '|---|---|---|---|---|---|---|',
  ];
  const rss = (value: number, bound: number | null | undefined) =>
    `${value.toFixed(0)} MiB${underBound(value, bound) ? '' : ` (FAIL: over ${bound} MiB)`}`;
  for (const r of results) {
    const exit = r.signal !== null ? r.signal : String(r.exitCode);
    lines.push(
      `| ${r.name} (${r.what}) | ${mib(r.captureBytes)} | ${exit} | ${r.wallSeconds.toFixed(1)} s | ` +
        `${rss(r.peakRssMiB, r.rssBoundMiB)} | ${r.evidence.ok ? '' : 'FAIL: '}${r.evidence.text} | ` +
        `${r.intact.ok ? 'yes' : 'NO'}: ${r.intact.text} |`,
    );
    for (const s of r.sinkRuns ?? []) {
      lines.push(
        `| ${r.name}, ${s.sink} | (same) | ${s.signal ?? String(s.exitCode)} | ${s.wallSeconds.toFixed(1)} s | ` +
          `${rss(s.peakRssMiB, r.rssBoundMiB)} | ${s.exitCode === 0 ? '' : 'FAIL: '}${s.text} | - |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

const USAGE =
  'usage: node dist-harness/test/harness/adversarial/run.js [--scale F] [--only NAME,...] [--timeout-s S]\n';

async function main(argv: readonly string[]): Promise<number> {
  let values: { scale?: string | undefined; only?: string | undefined; 'timeout-s'?: string | undefined };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { scale: { type: 'string' }, only: { type: 'string' }, 'timeout-s': { type: 'string' } },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  if (!(scale > 0 && scale <= 1)) {
    process.stderr.write(`--scale must be in (0, 1], not ${values.scale}\n`);
    return 2;
  }
  const timeoutMs = 1000 * (values['timeout-s'] === undefined ? 1800 : Number(values['timeout-s']));
  const only = values.only === undefined ? null : new Set(values.only.split(','));
  const chosen = SCENARIOS.filter((s) => only === null || only.has(s.name));
  if (chosen.length === 0) {
    process.stderr.write(`no scenario named ${values.only}\n`);
    return 2;
  }
  if (!existsSync('/usr/bin/time')) {
    process.stderr.write('adversarial: /usr/bin/time is needed to measure the peak memory of each run\n');
    return 2;
  }
  const cli = PRODUCT_CLI;
  const dir = mkdtempSync(join(tmpdir(), 'smtpscope-adversarial-run-'));
  const results: ScenarioResult[] = [];
  try {
    for (const scenario of chosen) {
      const r = await runScenario(scenario, dir, cli, scale, timeoutMs);
      results.push(r);
      process.stderr.write(
        `${r.name}: exit ${r.signal ?? r.exitCode}, ${r.wallSeconds} s, ${r.peakRssMiB.toFixed(0)} MiB, ` +
          `${r.evidence.text}, intact ${r.intact.ok ? 'yes' : `NO (${r.intact.text})`}` +
          `${r.stderrTail === '' ? '' : `; stderr: ${r.stderrTail}`}\n`,
      );
      for (const s of r.sinkRuns ?? [])
        process.stderr.write(
          `${r.name}, ${s.sink}: exit ${s.signal ?? s.exitCode}, ${s.wallSeconds} s, ${s.peakRssMiB.toFixed(0)} MiB, ${s.text}\n`,
        );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(resultTable(results));
  return results.every(passed) ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
