/**
 * Command-line grammar: every flag in one table, parsed with node:util parseArgs (no dependency), and
 * validated into typed values. Usage errors are UsageError (exit code 2).
 */

import { parseArgs } from 'node:util';
import { DEFAULT_SMTP_PORTS } from '../reassembly/options.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const COMMANDS = [
  'analyze',
  'flows',
  'transcript',
  'bounces',
  'devices',
  'clickhouse-replay',
  'help',
] as const;
export type CommandName = (typeof COMMANDS)[number];

const FLAGS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  summary: { type: 'boolean' },
  tui: { type: 'boolean', default: true },
  'no-tui': { type: 'boolean' },
  json: { type: 'string' },
  csv: { type: 'string' },
  'csv-sessions': { type: 'string' },
  'csv-transactions': { type: 'string' },
  'csv-recipients': { type: 'string' },
  'csv-commands': { type: 'string' },
  extract: { type: 'string' },
  'extract-incomplete': { type: 'boolean' },
  ports: { type: 'string', short: 'p' },
  'verify-checksums': { type: 'boolean' },
  threads: { type: 'string' },
  'reveal-secrets': { type: 'boolean' },
  'tls-keylog': { type: 'string', multiple: true },
  session: { type: 'string' },
  'write-streams': { type: 'string' },
  interface: { type: 'string', short: 'i' },
  'list-interfaces': { type: 'boolean', short: 'D' },
  filter: { type: 'string', short: 'f' },
  snaplen: { type: 'string', short: 's' },
  'buffer-size': { type: 'string', short: 'B' },
  count: { type: 'string', short: 'c' },
  duration: { type: 'string', short: 'G' },
  write: { type: 'string', short: 'w' },
  'rotate-mb': { type: 'string', short: 'C' },
  user: { type: 'string', short: 'Z' },
  'max-connections': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'max-buffer-mb': { type: 'string' },
  'max-buffer-per-conn-mb': { type: 'string' },
  'max-line': { type: 'string' },
  'max-pending': { type: 'string' },
  'message-keep-kb': { type: 'string' },
  'max-header-kb': { type: 'string' },
  clickhouse: { type: 'string' },
  'clickhouse-database': { type: 'string' },
  'clickhouse-user': { type: 'string' },
  'clickhouse-password': { type: 'string' },
  'clickhouse-spill': { type: 'string' },
  'clickhouse-no-create': { type: 'boolean' },
  sensor: { type: 'string' },
  // MTA log correlation (docs/MAILLOG.md)
  maillog: { type: 'string', multiple: true },
  // SIEM records (docs/JSON.md, docs/ZEEK.md)
  'json-level': { type: 'string' },
  zeek: { type: 'string' },
} as const;

export interface CliOptions {
  readonly command: CommandName;
  readonly inputs: readonly string[];
  readonly help: boolean;
  readonly version: boolean;
  readonly summary: boolean;
  readonly tui: boolean;
  readonly json: string | null;
  readonly csvDir: string | null;
  readonly csvSessions: string | null;
  readonly csvTransactions: string | null;
  readonly csvRecipients: string | null;
  readonly csvCommands: string | null;
  readonly extractDir: string | null;
  readonly extractIncomplete: boolean;
  readonly ports: ReadonlySet<number>;
  readonly verifyChecksums: boolean;
  /** Worker threads for file analysis (--threads); null: one per core for several files, one file not split. */
  readonly threads: number | null;
  readonly revealSecrets: boolean;
  /** NSS key log files that decrypt TLS sessions (docs/TLS.md); followed while a live capture runs. */
  readonly tlsKeyLogs: readonly string[];
  readonly session: string | null;
  readonly writeStreams: string | null;
  readonly live: null | {
    readonly device: string;
    readonly filter: string;
    readonly snaplen: number;
    readonly bufferMb: number;
    readonly count: number | null;
    readonly durationMs: number | null;
  };
  readonly listInterfaces: boolean;
  readonly writeFile: string | null;
  readonly rotateBytes: number | null;
  readonly user: string | null;
  readonly maxConnections: number | null;
  readonly idleTimeoutMs: number | null;
  readonly maxBufferBytes: number | null;
  /** Out-of-order bytes buffered per direction of one connection (--max-buffer-per-conn-mb). */
  readonly maxBufferPerDirectionBytes: number | null;
  readonly maxLineLength: number | null;
  readonly maxPendingCommands: number | null;
  readonly messageKeepBytes: number | null;
  /** Bytes of a message header parsed for the summary (--max-header-kb). */
  readonly maxHeaderBytes: number | null;
  /** ClickHouse sink (and `clickhouse-replay`): null url = off. */
  readonly clickhouse: {
    readonly url: string | null;
    readonly database: string | null;
    readonly username: string | null;
    readonly password: string | null;
    readonly spillFile: string | null;
    readonly sensor: string | null;
    /** Create the database and tables when missing (off with --clickhouse-no-create). */
    readonly createTables: boolean;
  };
  /** Postfix / Exim logs joined with the sessions (--maillog, repeatable; docs/MAILLOG.md). */
  readonly maillogs: readonly string[];
  /** NDJSON documents per session (default) or per recipient (--json-level). */
  readonly jsonLevel: 'sessions' | 'recipients';
  /** Folder for Zeek-format smtp.log and conn.log (--zeek). */
  readonly zeekDir: string | null;
}

function positiveInt(name: string, value: string | undefined, { allowZero = false } = {}): number | null {
  if (value === undefined) return null;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} takes a whole number, not '${value}'`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || (!allowZero && n === 0))
    throw new UsageError(`--${name} is out of range: ${value}`);
  return n;
}

export function parsePorts(text: string): ReadonlySet<number> {
  const ports = new Set<number>();
  for (const part of text.split(',')) {
    const p = part.trim();
    const range = /^(\d+)-(\d+)$/.exec(p);
    const from = range !== null ? Number(range[1]) : Number(p);
    const to = range !== null ? Number(range[2]) : from;
    if (!/^\d+(-\d+)?$/.test(p) || from < 1 || to > 65535 || from > to)
      throw new UsageError(`bad port or range in --ports: '${p}'`);
    if (to - from > 65535) throw new UsageError(`port range too large: '${p}'`);
    for (let q = from; q <= to; q++) ports.add(q);
  }
  return ports;
}

/** Builds the default BPF filter for live capture from the port set. */
export function portsFilter(ports: ReadonlySet<number>): string {
  return `tcp and (${[...ports].map((p) => `port ${p}`).join(' or ')})`;
}

function jsonLevel(value: string | undefined): 'sessions' | 'recipients' {
  if (value === undefined || value === 'sessions' || value === 'recipients') return value ?? 'sessions';
  throw new UsageError(`--json-level takes sessions or recipients, not '${value}'`);
}

export function parseCli(argv: readonly string[]): CliOptions {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof FLAGS; allowPositionals: true; args: string[] }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: FLAGS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  let positionals = parsed.positionals;
  let command: CommandName = 'analyze';
  const first = positionals[0];
  if (first !== undefined && (COMMANDS as readonly string[]).includes(first)) {
    command = first as CommandName;
    positionals = positionals.slice(1);
  }
  if (v['list-interfaces'] === true) command = 'devices';
  const ports = v.ports === undefined ? DEFAULT_SMTP_PORTS : parsePorts(v.ports);
  const device = v.interface ?? null;
  if (device !== null && positionals.length > 0)
    throw new UsageError('give either capture files or -i INTERFACE, not both');
  const live =
    device === null
      ? null
      : {
          device,
          filter: v.filter ?? portsFilter(ports),
          // 0 means the most the capture can take, as in tcpdump.
          snaplen: positiveInt('snaplen', v.snaplen, { allowZero: true }) ?? 262_144,
          bufferMb: positiveInt('buffer-size', v['buffer-size']) ?? 16,
          count: positiveInt('count', v.count),
          durationMs: ((d) => (d === null ? null : d * 1000))(positiveInt('duration', v.duration)),
        };
  if (device === null) {
    for (const flag of ['filter', 'snaplen', 'buffer-size', 'count', 'duration', 'write', 'user'] as const) {
      if (v[flag] !== undefined) throw new UsageError(`--${flag} applies to live capture: add -i INTERFACE`);
    }
  }
  if (v['rotate-mb'] !== undefined && v.write === undefined)
    throw new UsageError(
      device === null
        ? '--rotate-mb rotates the packet file of a live capture: add -i INTERFACE -w FILE'
        : '--rotate-mb rotates the packet file: add -w FILE',
    );
  const rotateMb = positiveInt('rotate-mb', v['rotate-mb']);
  const kb = positiveInt('message-keep-kb', v['message-keep-kb'], { allowZero: true });
  const idle = positiveInt('idle-timeout', v['idle-timeout']);
  const bufMb = positiveInt('max-buffer-mb', v['max-buffer-mb']);
  const connMb = positiveInt('max-buffer-per-conn-mb', v['max-buffer-per-conn-mb']);
  const headerKb = positiveInt('max-header-kb', v['max-header-kb']);
  return {
    command,
    inputs: positionals,
    help: v.help === true || command === 'help',
    version: v.version === true,
    summary: v.summary === true,
    tui: v['no-tui'] !== true && v.tui !== false,
    json: v.json ?? null,
    csvDir: v.csv ?? null,
    csvSessions: v['csv-sessions'] ?? null,
    csvTransactions: v['csv-transactions'] ?? null,
    csvRecipients: v['csv-recipients'] ?? null,
    csvCommands: v['csv-commands'] ?? null,
    extractDir: v.extract ?? null,
    extractIncomplete: v['extract-incomplete'] === true,
    ports,
    verifyChecksums: v['verify-checksums'] === true,
    threads: positiveInt('threads', v.threads),
    revealSecrets: v['reveal-secrets'] === true,
    tlsKeyLogs: v['tls-keylog'] ?? [],
    session: v.session ?? null,
    writeStreams: v['write-streams'] ?? null,
    live,
    listInterfaces: command === 'devices',
    writeFile: v.write ?? null,
    rotateBytes: rotateMb === null ? null : rotateMb * 1_000_000,
    user: v.user ?? null,
    maxConnections: positiveInt('max-connections', v['max-connections']),
    idleTimeoutMs: idle === null ? null : idle * 1000,
    maxBufferBytes: bufMb === null ? null : bufMb * 1024 * 1024,
    maxBufferPerDirectionBytes: connMb === null ? null : connMb * 1024 * 1024,
    maxLineLength: positiveInt('max-line', v['max-line']),
    maxPendingCommands: positiveInt('max-pending', v['max-pending']),
    messageKeepBytes: kb === null ? null : kb * 1024,
    maxHeaderBytes: headerKb === null ? null : headerKb * 1024,
    clickhouse: {
      url: v.clickhouse ?? null,
      database: v['clickhouse-database'] ?? null,
      username: v['clickhouse-user'] ?? null,
      password: v['clickhouse-password'] ?? null,
      spillFile: v['clickhouse-spill'] ?? null,
      sensor: v.sensor ?? null,
      createTables: v['clickhouse-no-create'] !== true,
    },
    maillogs: v.maillog ?? [],
    jsonLevel: jsonLevel(v['json-level']),
    zeekDir: v.zeek ?? null,
  };
}

export const USAGE = `smtpscope — SMTP traffic analyzer

Usage:
  smtpscope [analyze] FILE... [options]      analyze pcap/pcapng/gzip captures ('-' = standard input)
  smtpscope -i IFACE [options]               analyze live traffic (needs libpcap; see docs/LIVE.md)
  smtpscope transcript FILE [--session ID]   print each session as the paired dialogue
  smtpscope bounces FILE... [--csv FILE]     what failed and why: rejected/deferred recipients, DSNs
  smtpscope flows FILE [--write-streams ID:DIR]
                                             TCP connections on the SMTP ports, as reassembled
  smtpscope -D                               list capture interfaces
  smtpscope clickhouse-replay FILE --clickhouse URL
                                             load rows spilled while ClickHouse was unreachable

Output (analyze):
  --summary, --no-tui      print the text summary (default when standard output is not a terminal)
  --json FILE              one JSON object per session (NDJSON; '-' = standard output)
  --json-level LEVEL       sessions (default) or recipients: one document per RCPT with its context
  --zeek DIR               Zeek-format smtp.log and conn.log (docs/ZEEK.md)
  --csv DIR                sessions.csv, transactions.csv, recipients.csv, commands.csv
  --csv-sessions FILE      one level only (also --csv-transactions, --csv-recipients, --csv-commands)
  --extract DIR            every complete message as an .eml file, with index.csv
  --extract-incomplete     also write incomplete messages (marked as such)
  --reveal-secrets         keep AUTH passwords and tokens in outputs (off: redacted)
  --clickhouse URL         stream the four levels into ClickHouse (docs/FLEET.md); with
                           --clickhouse-database DB, --clickhouse-user U, --clickhouse-password P,
                           --sensor NAME (default: host name), --clickhouse-spill FILE (rows kept
                           while the server is unreachable; load them later with clickhouse-replay),
                           --clickhouse-no-create (the tables exist: no CREATE DATABASE/TABLE).
                           The URL may name the database and user (http://u:p@host:8123/db); the
                           flags win over it

Input:
  --maillog FILE           Postfix or Exim log (plain or gzip; repeatable): each recipient gets the MTA's
                           later fate (analyze, transcript, bounces; docs/MAILLOG.md). Live: followed
  --tls-keylog FILE        decrypt TLS with this NSS key log (SSLKEYLOGFILE; repeatable; followed
                           during live capture). pcapng decryption secrets are used without it (docs/TLS.md)
  -p, --ports LIST         SMTP server ports (default 25,465,587,2525,24,366; ranges like 2500-2599)
  --verify-checksums       drop packets with bad IP/TCP checksums (off: offloaded checksums are common)
  --threads N              worker threads (1: none). Several files run one per thread (default: one per
                           core); with N of 2 or more, one file of 32 MiB or more is split between N
                           threads by connection (default: not split; see docs/PERFORMANCE.md)

Live capture:
  -i, --interface IFACE    capture on IFACE        -f, --filter BPF    (default: tcp on the ports)
  -s, --snaplen N          bytes per packet        -B, --buffer-size MB  kernel buffer
  -c, --count N            stop after N packets    -G, --duration S      stop after S seconds
  -w, --write FILE         also write the packets to a pcap file   -C, --rotate-mb MB  rotate it
  -Z, --user USER          drop privileges to USER once the capture is open

Limits (docs/LIMITS.md):
  --max-connections N  --idle-timeout S  --max-buffer-mb MB  --max-buffer-per-conn-mb MB  --max-line N
  --max-pending N  --message-keep-kb KB  --max-header-kb KB

Exit codes: 0 success, 1 input or runtime error (partial results are still written), 2 usage error,
3 live capture unavailable.
`;
