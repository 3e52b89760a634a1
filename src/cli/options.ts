/**
 * Command-line grammar: every flag in one table, parsed with node:util parseArgs (no dependency), and
 * validated into typed values. Usage errors are UsageError (exit code 2).
 */

import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BpfError, compileBpf } from '../query/bpf.js';
import { parseSelection, type SessionSelection } from '../query/session-selection.js';
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
  'completion',
  'help',
] as const;
export type CommandName = (typeof COMMANDS)[number];

/** Sections of the help, in the order they are printed. */
export type OptionGroup = 'output' | 'clickhouse' | 'input' | 'live' | 'limits' | 'general';

export const GROUP_TITLES: Readonly<Record<OptionGroup, string>> = {
  output: 'Output',
  clickhouse: 'ClickHouse (docs/FLEET.md)',
  input: 'Input',
  live: 'Live capture',
  limits: 'Limits (docs/LIMITS.md)',
  general: 'General',
};

/**
 * One command-line option: how it parses, what it is for, and which commands take it. The help of every
 * command, the manual page (docs/smtpscope.1) and the shell completions are all made from this table.
 */
export interface OptionSpec {
  readonly name: string;
  readonly short?: string;
  readonly type: 'boolean' | 'string';
  /** The value's placeholder in the help (FILE, DIR, N); none for a boolean. */
  readonly arg?: string;
  readonly help: string;
  readonly group: OptionGroup;
  readonly commands: readonly CommandName[];
  /** May be given more than once (-r). */
  readonly multiple?: boolean;
  /** Accepted but not listed (kept for old command lines). */
  readonly hidden?: boolean;
  /** What the shell completes for the value: file names, folder names, or nothing. */
  readonly complete?: 'file' | 'dir';
}

const ANALYZE: readonly CommandName[] = ['analyze'];
const READERS: readonly CommandName[] = ['analyze', 'transcript', 'bounces', 'flows'];
const DECODERS: readonly CommandName[] = ['analyze', 'transcript', 'bounces'];
const CLICKHOUSE: readonly CommandName[] = ['analyze', 'clickhouse-replay'];

export const OPTIONS: readonly OptionSpec[] = [
  {
    name: 'summary',
    type: 'boolean',
    group: 'output',
    commands: ANALYZE,
    help: 'print the text summary (default when standard output is not a terminal)',
  },
  {
    name: 'no-tui',
    type: 'boolean',
    group: 'output',
    commands: ANALYZE,
    help: 'no dashboard: the summary at the end (live: one line per session as it ends)',
  },
  {
    name: 'tui',
    type: 'boolean',
    group: 'output',
    commands: ANALYZE,
    help: 'open the dashboard (the default on a terminal)',
    hidden: true,
  },
  {
    name: 'json',
    type: 'string',
    arg: 'FILE',
    group: 'output',
    commands: ANALYZE,
    complete: 'file',
    help: "one JSON object per session (NDJSON; '-' = standard output)",
  },
  {
    name: 'csv',
    type: 'string',
    arg: 'DIR',
    group: 'output',
    commands: ['analyze', 'bounces'],
    complete: 'file',
    help: 'analyze: a folder for sessions.csv, transactions.csv, recipients.csv, commands.csv; bounces: one file',
  },
  {
    name: 'csv-sessions',
    type: 'string',
    arg: 'FILE',
    group: 'output',
    commands: ANALYZE,
    complete: 'file',
    help: "the sessions level only, to FILE ('-' = standard output)",
  },
  {
    name: 'csv-transactions',
    type: 'string',
    arg: 'FILE',
    group: 'output',
    commands: ANALYZE,
    complete: 'file',
    help: 'the transactions level only',
  },
  {
    name: 'csv-recipients',
    type: 'string',
    arg: 'FILE',
    group: 'output',
    commands: ANALYZE,
    complete: 'file',
    help: 'the recipients level only',
  },
  {
    name: 'csv-commands',
    type: 'string',
    arg: 'FILE',
    group: 'output',
    commands: ANALYZE,
    complete: 'file',
    help: 'the commands level only',
  },
  {
    name: 'extract',
    type: 'string',
    arg: 'DIR',
    group: 'output',
    commands: ANALYZE,
    complete: 'dir',
    help: 'every complete message as an .eml file, with index.csv (an empty or new folder)',
  },
  {
    name: 'extract-incomplete',
    type: 'boolean',
    group: 'output',
    commands: ANALYZE,
    help: 'also write incomplete messages (marked as such)',
  },
  {
    name: 'reveal-secrets',
    type: 'boolean',
    group: 'output',
    commands: DECODERS,
    help: 'keep AUTH passwords and tokens in outputs (off: redacted)',
  },
  {
    name: 'json-level',
    type: 'string',
    arg: 'LEVEL',
    group: 'output',
    commands: ANALYZE,
    help: 'sessions (default) or recipients: one NDJSON document per RCPT with its context',
  },
  {
    name: 'html',
    type: 'string',
    arg: 'FILE',
    group: 'output',
    commands: ANALYZE,
    complete: 'file',
    help: 'one self-contained HTML report: figures, charts, failures, transcripts (docs/REPORT.md)',
  },
  {
    name: 'zeek',
    type: 'string',
    arg: 'DIR',
    group: 'output',
    commands: ANALYZE,
    complete: 'dir',
    help: 'Zeek-format smtp.log and conn.log (docs/ZEEK.md)',
  },
  {
    name: 'connection-attempts',
    type: 'boolean',
    group: 'output',
    commands: ANALYZE,
    help: 'with --json: also one record per connection that carried no byte',
  },
  {
    name: 'utc',
    type: 'boolean',
    group: 'output',
    commands: ANALYZE,
    help: 'dashboard times in UTC (default: local time, zone shown)',
  },
  {
    name: 'session',
    type: 'string',
    arg: 'ID',
    group: 'output',
    commands: ['transcript'],
    help: 'only the session with this id (from the summary, CSV or dashboard)',
  },
  {
    name: 'write-streams',
    type: 'string',
    arg: 'ID:DIR',
    group: 'output',
    commands: ['flows'],
    help: "write one flow's reassembled byte streams (both directions) into DIR",
  },
  {
    name: 'clickhouse',
    type: 'string',
    arg: 'URL',
    group: 'clickhouse',
    commands: CLICKHOUSE,
    help: 'stream the four levels into ClickHouse; the URL may name the database and user (http://u:p@host:8123/db), the flags win over it',
  },
  {
    name: 'clickhouse-database',
    type: 'string',
    arg: 'DB',
    group: 'clickhouse',
    commands: CLICKHOUSE,
    help: 'database name',
  },
  {
    name: 'clickhouse-user',
    type: 'string',
    arg: 'USER',
    group: 'clickhouse',
    commands: CLICKHOUSE,
    help: 'user name',
  },
  {
    name: 'clickhouse-password',
    type: 'string',
    arg: 'PASSWORD',
    group: 'clickhouse',
    commands: CLICKHOUSE,
    help: 'password',
  },
  {
    name: 'clickhouse-spill',
    type: 'string',
    arg: 'FILE',
    group: 'clickhouse',
    commands: ANALYZE,
    complete: 'file',
    help: 'rows kept while the server is unreachable (load them later with clickhouse-replay)',
  },
  {
    name: 'clickhouse-no-create',
    type: 'boolean',
    group: 'clickhouse',
    commands: CLICKHOUSE,
    help: 'the tables exist: no CREATE DATABASE/TABLE',
  },
  {
    name: 'sensor',
    type: 'string',
    arg: 'NAME',
    group: 'clickhouse',
    commands: ANALYZE,
    help: 'sensor name in every row (default: host name)',
  },
  {
    name: 'read',
    short: 'r',
    type: 'string',
    arg: 'FILE',
    group: 'input',
    commands: READERS,
    multiple: true,
    complete: 'file',
    help: "read this capture (as tcpdump -r; the same as naming it; '-' = standard input)",
  },
  {
    name: 'maillog',
    type: 'string',
    arg: 'FILE',
    group: 'input',
    commands: DECODERS,
    multiple: true,
    complete: 'file',
    help: "Postfix or Exim log (plain or gzip; repeatable): each recipient gets the MTA's later fate (docs/MAILLOG.md). Live: followed",
  },
  {
    name: 'tls-keylog',
    type: 'string',
    arg: 'FILE',
    group: 'input',
    commands: ANALYZE,
    multiple: true,
    complete: 'file',
    help: 'decrypt TLS with this NSS key log (SSLKEYLOGFILE; repeatable; followed during live capture). pcapng decryption secrets are used without it (docs/TLS.md)',
  },
  {
    name: 'ports',
    short: 'p',
    type: 'string',
    arg: 'LIST',
    group: 'input',
    commands: READERS,
    help: 'SMTP server ports (default 25,465,587,2525,24,366; ranges like 2500-2599)',
  },
  {
    name: 'ports-only',
    type: 'boolean',
    group: 'input',
    commands: READERS,
    help: 'decode only connections on the ports (off: other TCP connections are decoded when their first bytes are SMTP)',
  },
  {
    name: 'verify-checksums',
    type: 'boolean',
    group: 'input',
    commands: READERS,
    help: 'drop packets with bad IP/TCP checksums (off: offloaded checksums are common)',
  },
  {
    name: 'allow-truncated',
    type: 'boolean',
    group: 'input',
    commands: DECODERS,
    help: 'a capture cut inside its last record (copied while still being written) exits 0; any other damage still exits 1',
  },
  {
    name: 'no-recurse',
    type: 'boolean',
    group: 'input',
    commands: DECODERS,
    help: 'a folder stands for the captures directly inside it (default: sub-folders too)',
  },
  {
    name: 'threads',
    type: 'string',
    arg: 'N',
    group: 'input',
    commands: ANALYZE,
    help: 'worker threads (1: none). Several files run one per thread (default: one per core); with N of 2 or more, one file of 32 MiB or more is split between N threads by connection',
  },
  {
    name: 'interface',
    short: 'i',
    type: 'string',
    arg: 'IFACE',
    group: 'live',
    commands: ANALYZE,
    help: 'capture live on IFACE (needs libpcap; docs/LIVE.md)',
  },
  {
    name: 'list-interfaces',
    short: 'D',
    type: 'boolean',
    group: 'live',
    commands: ANALYZE,
    help: 'list capture interfaces (as smtpscope devices)',
  },
  {
    name: 'filter',
    short: 'f',
    type: 'string',
    arg: 'BPF',
    group: 'live',
    commands: ANALYZE,
    help: 'capture filter (default: tcp; with --ports-only, tcp on the ports); on capture files a subset: host, net, port, and/or/not (docs/FILTERS.md)',
  },
  {
    name: 'snaplen',
    short: 's',
    type: 'string',
    arg: 'N',
    group: 'live',
    commands: ANALYZE,
    help: 'bytes kept per packet (0: the most)',
  },
  {
    name: 'buffer-size',
    short: 'B',
    type: 'string',
    arg: 'MB',
    group: 'live',
    commands: ANALYZE,
    help: 'kernel capture buffer',
  },
  {
    name: 'count',
    short: 'c',
    type: 'string',
    arg: 'N',
    group: 'live',
    commands: ANALYZE,
    help: 'stop after N packets',
  },
  {
    name: 'duration',
    short: 'G',
    type: 'string',
    arg: 'S',
    group: 'live',
    commands: ANALYZE,
    help: 'stop after S seconds',
  },
  {
    name: 'write',
    short: 'w',
    type: 'string',
    arg: 'FILE',
    group: 'live',
    commands: ANALYZE,
    complete: 'file',
    help: 'also write the packets to a pcap file; with a capture file, the packets of the selected sessions',
  },
  {
    name: 'rotate-mb',
    short: 'C',
    type: 'string',
    arg: 'MB',
    group: 'live',
    commands: ANALYZE,
    help: 'rotate the -w file at MB megabytes',
  },
  {
    name: 'user',
    short: 'Z',
    type: 'string',
    arg: 'USER',
    group: 'live',
    commands: ANALYZE,
    help: 'drop privileges to USER once the capture is open',
  },
  {
    name: 'live-helper',
    type: 'string',
    arg: 'HELPER',
    group: 'live',
    commands: ANALYZE,
    help: 'tcpdump: capture through a tcpdump process (kernel drop counts and timestamps); default cap: in-process, drops n/a (docs/LIVE.md)',
  },
  {
    name: 'max-memory-mb',
    type: 'string',
    arg: 'MB',
    group: 'limits',
    commands: DECODERS,
    help: 'global memory budget (default 1024)',
  },
  {
    name: 'max-connections',
    type: 'string',
    arg: 'N',
    group: 'limits',
    commands: DECODERS,
    help: 'connections tracked at once',
  },
  {
    name: 'idle-timeout',
    type: 'string',
    arg: 'S',
    group: 'limits',
    commands: DECODERS,
    help: 'a connection silent this long (packet time) is closed',
  },
  {
    name: 'max-buffer-mb',
    type: 'string',
    arg: 'MB',
    group: 'limits',
    commands: DECODERS,
    help: 'out-of-order bytes buffered in all',
  },
  {
    name: 'max-buffer-per-conn-mb',
    type: 'string',
    arg: 'MB',
    group: 'limits',
    commands: DECODERS,
    help: 'out-of-order bytes buffered per direction of a connection',
  },
  {
    name: 'max-line',
    type: 'string',
    arg: 'N',
    group: 'limits',
    commands: DECODERS,
    help: 'longest SMTP line kept',
  },
  {
    name: 'max-pending',
    type: 'string',
    arg: 'N',
    group: 'limits',
    commands: DECODERS,
    help: 'commands waiting for their replies',
  },
  {
    name: 'message-keep-kb',
    type: 'string',
    arg: 'KB',
    group: 'limits',
    commands: DECODERS,
    help: 'message bytes kept per message',
  },
  {
    name: 'html-max-sessions',
    type: 'string',
    arg: 'N',
    group: 'limits',
    commands: ANALYZE,
    help: 'sessions whose transcript the --html report keeps (default 1000)',
  },
  {
    name: 'max-header-kb',
    type: 'string',
    arg: 'KB',
    group: 'limits',
    commands: DECODERS,
    help: 'message header bytes parsed for the summary',
  },
  // Session selection (docs/FILTERS.md)
  {
    name: 'where',
    type: 'string',
    arg: 'EXPR',
    group: 'input',
    commands: DECODERS,
    help: "only sessions matching the dashboard's filter language ('to:bob@ code:5xx')",
  },
  {
    name: 'since',
    type: 'string',
    arg: 'TIME',
    group: 'input',
    commands: DECODERS,
    help: 'only sessions that end at or after TIME (ISO, or relative: -2h, -1d)',
  },
  {
    name: 'until',
    type: 'string',
    arg: 'TIME',
    group: 'input',
    commands: DECODERS,
    help: 'only sessions that start at or before TIME',
  },
  {
    name: 'help',
    short: 'h',
    type: 'boolean',
    group: 'general',
    commands: COMMANDS,
    help: "this help (with a command: that command's help)",
  },
  {
    name: 'version',
    short: 'V',
    type: 'boolean',
    group: 'general',
    commands: COMMANDS,
    help: 'print the version',
  },
];

/** One subcommand: its synopsis, what it does and an example, for its help and the manual page. */
export interface CommandSpec {
  readonly name: CommandName;
  readonly synopsis: string;
  readonly summary: string;
  readonly description: string;
  readonly examples: readonly string[];
}

export const COMMAND_SPECS: readonly CommandSpec[] = [
  {
    name: 'analyze',
    synopsis: 'smtpscope [analyze] FILE|DIR... [options]',
    summary: "analyze pcap/pcapng/gzip captures ('-' = standard input; a folder: the captures in it)",
    description:
      'Reads the captures, follows every SMTP session and shows the dashboard on a terminal, or prints the text summary; --json, --csv and --extract write the sessions as they close. With -i IFACE it reads live traffic instead.',
    examples: [
      'smtpscope mail.pcap',
      'smtpscope captures/ --csv out/ --summary',
      'tcpdump -U -w - port 25 | smtpscope - --json - | jq .smtp.outcome',
      'smtpscope -i eth0 --no-tui',
    ],
  },
  {
    name: 'transcript',
    synopsis: 'smtpscope transcript FILE... [--session ID]',
    summary: 'print each session as the paired dialogue',
    description:
      'Prints each session as the client and server said it, each command with its reply and the time between.',
    examples: ['smtpscope transcript mail.pcap --session C000003'],
  },
  {
    name: 'bounces',
    synopsis: 'smtpscope bounces FILE... [--csv FILE]',
    summary: 'what failed and why: rejected/deferred recipients, DSNs',
    description:
      'Lists every recipient the server refused or deferred, every failed AUTH and every delivery status notification seen, each with its stage, code and reason (docs/BOUNCES.md).',
    examples: ['smtpscope bounces mail.pcap', 'smtpscope bounces mail.pcap --csv failures.csv'],
  },
  {
    name: 'flows',
    synopsis: 'smtpscope flows FILE [--write-streams ID:DIR]',
    summary: 'TCP connections on the SMTP ports, as reassembled',
    description:
      'Lists the TCP connections on the SMTP ports with their packets, bytes, gaps and retransmissions; --write-streams writes the reassembled bytes of one of them.',
    examples: ['smtpscope flows mail.pcap', 'smtpscope flows mail.pcap --write-streams C000002:streams/'],
  },
  {
    name: 'devices',
    synopsis: 'smtpscope devices',
    summary: 'list capture interfaces (also -D)',
    description: 'Lists the interfaces libpcap can capture on, for -i.',
    examples: ['smtpscope devices'],
  },
  {
    name: 'clickhouse-replay',
    synopsis: 'smtpscope clickhouse-replay FILE --clickhouse URL',
    summary: 'load rows spilled while ClickHouse was unreachable',
    description: 'Loads the rows an analysis kept in its --clickhouse-spill file into ClickHouse.',
    examples: ['smtpscope clickhouse-replay spill.ndjson --clickhouse http://127.0.0.1:8123'],
  },
  {
    name: 'completion',
    synopsis: 'smtpscope completion bash|zsh',
    summary: 'print the shell completion script',
    description: 'Prints a completion script for bash or zsh, made from the same option table as this help.',
    examples: [
      'source <(smtpscope completion bash)',
      'smtpscope completion zsh > ~/.zfunc/_smtpscope   # a folder on $fpath',
    ],
  },
];

export const VERSION = '0.1.0';

/** The node:util parseArgs table made from {@link OPTIONS}. */
const FLAGS = Object.fromEntries(
  OPTIONS.map((o) => [
    o.name,
    {
      type: o.type,
      ...(o.short === undefined ? {} : { short: o.short }),
      ...(o.multiple === true ? { multiple: true } : {}),
    },
  ]),
) as Record<string, { type: 'boolean' | 'string'; short?: string; multiple?: boolean }>;

/** Edit distance (insertions, deletions, substitutions), for "did you mean". */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The closest of `candidates` to `word`, when it is close enough to be a typo of it (else null). */
export function closest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const allowed = word.length <= 3 ? 1 : 2;
  if (best === null) return null;
  return bestDistance <= allowed || (best.startsWith(word) && word.length >= 3) ? best : null;
}

/** The parseArgs error said in the CLI's words: "unknown option --bogus (see smtpscope --help)". */
function parseError(error: Error & { code?: string }): UsageError {
  const quoted = /'(-[^' ]*)/.exec(error.message)?.[1] ?? '';
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const name = quoted.replace(/^--?/, '').replace(/=.*$/, '');
    const suggestion = quoted.startsWith('--')
      ? closest(
          name,
          OPTIONS.filter((o) => o.hidden !== true).map((o) => o.name),
        )
      : null;
    return new UsageError(
      `unknown option ${quoted}${suggestion === null ? '' : `; did you mean --${suggestion}?`} (see smtpscope --help)`,
    );
  }
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const option = OPTIONS.find((o) => quoted === `--${o.name}` || quoted === `-${o.short}`);
    if (option !== undefined && option.type === 'string')
      return new UsageError(`${quoted} needs a value (${option.arg ?? 'VALUE'})`);
    if (option !== undefined) return new UsageError(`${quoted} takes no value`);
  }
  return new UsageError(error.message);
}

export interface CliOptions {
  readonly command: CommandName;
  readonly inputs: readonly string[];
  readonly help: boolean;
  /** The command whose help was asked for (`bounces --help`, `help bounces`); null: the general help. */
  readonly helpTopic: CommandName | null;
  readonly version: boolean;
  /** Walk sub-folders of a folder given as input (off with --no-recurse). */
  readonly recurse: boolean;
  /** Dashboard times in UTC instead of local time. */
  readonly utc: boolean;
  /** `completion SHELL`: the shell named. */
  readonly shell: string | null;
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
  /** Only connections on the ports are decoded (--ports-only); off: content detection on every TCP connection. */
  readonly portsOnly: boolean;
  readonly verifyChecksums: boolean;
  /** A capture cut inside its last record exits 0 instead of 1 (--allow-truncated; src/capture/damage.ts). */
  readonly allowTruncated: boolean;
  /** One NDJSON record per connection attempt (--connection-attempts); counts are always in the summary. */
  readonly connectionAttempts: boolean;
  /** Global memory budget in bytes (--max-memory-mb); null: the default (docs/LIMITS.md). */
  readonly maxMemoryBytes: number | null;
  /** What opens the interface for -i: the `cap` addon in-process, or a tcpdump helper process (docs/LIVE.md). */
  readonly liveHelper: 'cap' | 'tcpdump';
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
  /** The HTML report's path (--html; docs/REPORT.md). */
  readonly html: string | null;
  /** Sessions whose transcript the HTML report keeps (--html-max-sessions); null: the default. */
  readonly htmlMaxSessions: number | null;
  /** --where, --since, --until; null when none is given (docs/FILTERS.md). */
  readonly selection: SessionSelection | null;
  /** -f on capture files: the pcap-filter subset of query/bpf.ts (checked here); null without -f or when live. */
  readonly fileFilter: string | null;
}

function selectionOf(
  where: string | undefined,
  since: string | undefined,
  until: string | undefined,
): SessionSelection | null {
  if (where === undefined && since === undefined && until === undefined) return null;
  const parsed = parseSelection(where ?? null, since ?? null, until ?? null, Date.now());
  if (!parsed.ok) throw new UsageError(parsed.error);
  return parsed.selection;
}

function fileFilterOf(text: string | undefined): string | null {
  if (text === undefined) return null;
  try {
    compileBpf(text);
  } catch (error) {
    if (error instanceof BpfError) throw new UsageError(`-f: ${error.message}`);
    throw error;
  }
  return text;
}

function liveHelperOf(value: string | undefined): 'cap' | 'tcpdump' {
  if (value === undefined || value === 'cap') return 'cap';
  if (value === 'tcpdump') return 'tcpdump';
  throw new UsageError(`--live-helper takes cap or tcpdump, not '${value}'`);
}

function jsonLevel(value: string | undefined): 'sessions' | 'recipients' {
  if (value === undefined || value === 'sessions' || value === 'recipients') return value ?? 'sessions';
  throw new UsageError(`--json-level takes sessions or recipients, not '${value}'`);
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

export function parseCli(argv: readonly string[]): CliOptions {
  let parsed: {
    values: Record<string, string | boolean | (string | boolean)[] | undefined>;
    positionals: string[];
  };
  try {
    parsed = parseArgs({ args: [...argv], options: FLAGS, allowPositionals: true, strict: true });
  } catch (error) {
    throw parseError(error as Error & { code?: string });
  }
  const values = parsed.values;
  const str = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  const b = (name: string): boolean => values[name] === true;
  const v = { help: b('help'), version: b('version') };
  let positionals = parsed.positionals;
  let command: CommandName = 'analyze';
  const first = positionals[0];
  if (first !== undefined && (COMMANDS as readonly string[]).includes(first)) {
    command = first as CommandName;
    positionals = positionals.slice(1);
  } else if (first !== undefined && first !== '-' && /^[a-z-]+$/.test(first) && !existsSync(first)) {
    // Not a file and close to a command name: a mistyped command, not a missing capture.
    const suggestion = closest(first, COMMANDS);
    if (suggestion !== null) throw new UsageError(`unknown command '${first}'; did you mean ${suggestion}?`);
  }
  let helpTopic: CommandName | null = null;
  let shell: string | null = null;
  if (command === 'help') {
    const topic = positionals[0];
    if (topic !== undefined) {
      if (!(COMMANDS as readonly string[]).includes(topic)) {
        const suggestion = closest(topic, COMMANDS);
        throw new UsageError(
          `no command '${topic}'${suggestion === null ? '' : `; did you mean ${suggestion}?`} (commands: ${COMMANDS.join(', ')})`,
        );
      }
      helpTopic = topic as CommandName;
    }
    positionals = [];
  } else if (v.help && command !== 'analyze') helpTopic = command;
  if (command === 'completion' && !v.help) {
    shell = positionals[0] ?? null;
    if (shell !== 'bash' && shell !== 'zsh') throw new UsageError("'completion' takes bash or zsh");
    positionals = [];
  }
  const read = values['read'];
  if (Array.isArray(read)) positionals = [...positionals, ...read.filter((r) => typeof r === 'string')];
  if (b('list-interfaces')) command = 'devices';
  const portList = str('ports');
  const ports = portList === undefined ? DEFAULT_SMTP_PORTS : parsePorts(portList);
  const device = str('interface') ?? null;
  if (device !== null && positionals.length > 0)
    throw new UsageError('give either capture files or -i INTERFACE, not both');
  const live =
    device === null
      ? null
      : {
          device,
          // Content detection needs every TCP connection; --ports-only keeps the port filter.
          filter: str('filter') ?? (b('ports-only') ? portsFilter(ports) : 'tcp'),
          // 0 means the most the capture can take, as in tcpdump.
          snaplen: positiveInt('snaplen', str('snaplen'), { allowZero: true }) ?? 262_144,
          bufferMb: positiveInt('buffer-size', str('buffer-size')) ?? 16,
          count: positiveInt('count', str('count')),
          durationMs: ((d) => (d === null ? null : d * 1000))(positiveInt('duration', str('duration'))),
        };
  if (device === null) {
    for (const flag of ['snaplen', 'buffer-size', 'count', 'duration', 'user'] as const) {
      if (str(flag) !== undefined)
        throw new UsageError(`--${flag} applies to live capture: add -i INTERFACE`);
    }
    // -f and -w on a capture file: a filter subset, and the packets of the selected sessions (docs/FILTERS.md).
    if (
      str('write') !== undefined &&
      str('rotate-mb') === undefined &&
      (positionals.length !== 1 || positionals[0] === '-')
    )
      throw new UsageError('-w with a capture file takes exactly one input file (not standard input)');
  }
  if (str('rotate-mb') !== undefined && str('write') === undefined)
    throw new UsageError(
      device === null
        ? '--rotate-mb rotates the packet file of a live capture: add -i INTERFACE -w FILE'
        : '--rotate-mb rotates the packet file: add -w FILE',
    );
  const rotateMb = positiveInt('rotate-mb', str('rotate-mb'));
  const kb = positiveInt('message-keep-kb', str('message-keep-kb'), { allowZero: true });
  const idle = positiveInt('idle-timeout', str('idle-timeout'));
  const bufMb = positiveInt('max-buffer-mb', str('max-buffer-mb'));
  const connMb = positiveInt('max-buffer-per-conn-mb', str('max-buffer-per-conn-mb'));
  const headerKb = positiveInt('max-header-kb', str('max-header-kb'));
  const memoryMb = positiveInt('max-memory-mb', str('max-memory-mb'));
  const strings = (name: string): string[] => {
    const value = values[name];
    return Array.isArray(value) ? value.filter((x): x is string => typeof x === 'string') : [];
  };
  return {
    command,
    inputs: positionals,
    help: v.help || command === 'help',
    helpTopic,
    version: v.version,
    recurse: values['no-recurse'] !== true,
    utc: b('utc'),
    shell,
    summary: b('summary'),
    tui: !b('no-tui') && values['tui'] !== false,
    json: str('json') ?? null,
    csvDir: str('csv') ?? null,
    csvSessions: str('csv-sessions') ?? null,
    csvTransactions: str('csv-transactions') ?? null,
    csvRecipients: str('csv-recipients') ?? null,
    csvCommands: str('csv-commands') ?? null,
    extractDir: str('extract') ?? null,
    extractIncomplete: b('extract-incomplete'),
    ports,
    portsOnly: b('ports-only'),
    verifyChecksums: b('verify-checksums'),
    allowTruncated: b('allow-truncated'),
    connectionAttempts: b('connection-attempts'),
    maxMemoryBytes: memoryMb === null ? null : memoryMb * 1024 * 1024,
    liveHelper: liveHelperOf(str('live-helper')),
    threads: positiveInt('threads', str('threads')),
    revealSecrets: b('reveal-secrets'),
    tlsKeyLogs: strings('tls-keylog'),
    session: str('session') ?? null,
    writeStreams: str('write-streams') ?? null,
    live,
    listInterfaces: command === 'devices',
    writeFile: str('write') ?? null,
    rotateBytes: rotateMb === null ? null : rotateMb * 1_000_000,
    user: str('user') ?? null,
    maxConnections: positiveInt('max-connections', str('max-connections')),
    idleTimeoutMs: idle === null ? null : idle * 1000,
    maxBufferBytes: bufMb === null ? null : bufMb * 1024 * 1024,
    maxBufferPerDirectionBytes: connMb === null ? null : connMb * 1024 * 1024,
    maxLineLength: positiveInt('max-line', str('max-line')),
    maxPendingCommands: positiveInt('max-pending', str('max-pending')),
    messageKeepBytes: kb === null ? null : kb * 1024,
    maxHeaderBytes: headerKb === null ? null : headerKb * 1024,
    clickhouse: {
      url: str('clickhouse') ?? null,
      database: str('clickhouse-database') ?? null,
      username: str('clickhouse-user') ?? null,
      password: str('clickhouse-password') ?? null,
      spillFile: str('clickhouse-spill') ?? null,
      sensor: str('sensor') ?? null,
      createTables: !b('clickhouse-no-create'),
    },
    maillogs: strings('maillog'),
    jsonLevel: jsonLevel(str('json-level')),
    zeekDir: str('zeek') ?? null,
    html: str('html') ?? null,
    htmlMaxSessions: positiveInt('html-max-sessions', str('html-max-sessions'), { allowZero: true }),
    selection: selectionOf(str('where'), str('since'), str('until')),
    fileFilter: device === null ? fileFilterOf(str('filter')) : null,
  };
}
