/**
 * tshark's view of an SMTP capture: the rows of `tshark -Y smtp -T fields -e smtp.req.command
 * -e smtp.req.parameter -e smtp.response.code`, in frame order. A row can carry several reply codes separated by
 * commas (several replies in one segment). The run adds `-e tcp.stream -e tcp.srcport -e tcp.dstport` when it
 * runs tshark itself, so rows can be grouped by TCP stream; the stored dumps have only the first three columns.
 *
 * The rows compared with smtpscope come from tshark run with `-o tcp.analyze_sequence_numbers:FALSE`: with its TCP
 * sequence analysis on, tshark takes segments it judges spurious retransmissions out of the SMTP dissection,
 * although they carry the stream's bytes. The stored dumps were made with the analysis on; tshark is also run that
 * way to check that the installed version still gives them.
 */

import { execFile } from 'node:child_process';

export interface TsharkCounts {
  readonly commands: ReadonlyMap<string, number>;
  readonly codes: ReadonlyMap<string, number>;
}

export interface TsharkRow {
  /** Command fields of the frame, upper-cased (usually zero or one). */
  readonly commands: readonly string[];
  readonly codes: readonly string[];
  /** The three stored columns as written, to compare a live run with a stored dump. */
  readonly text: string;
  /** tcp.stream, or null in a stored dump. */
  readonly stream: number | null;
  /** tcp.srcport and tcp.dstport, or null in a stored dump. */
  readonly ports: readonly [number, number] | null;
}

const list = (cell: string): string[] => cell.split(',').filter((c) => c !== '');

export function parseTsharkRows(text: string): TsharkRow[] {
  const rows: TsharkRow[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    const [command = '', parameter = '', code = '', stream, src, dst] = line.split('\t');
    rows.push({
      commands: list(command).map((c) => c.toUpperCase()),
      codes: list(code),
      text: [command, parameter, code].join('\t'),
      stream: stream === undefined || stream === '' ? null : Number(stream),
      ports: src === undefined || dst === undefined || src === '' ? null : [Number(src), Number(dst)],
    });
  }
  return rows;
}

export function parseTsharkFields(text: string): TsharkCounts {
  const commands = new Map<string, number>();
  const codes = new Map<string, number>();
  for (const row of parseTsharkRows(text)) {
    for (const c of row.commands) commands.set(c, (commands.get(c) ?? 0) + 1);
    for (const c of row.codes) codes.set(c, (codes.get(c) ?? 0) + 1);
  }
  return { commands, codes };
}

/** Whether a live run gives the stored dump's rows (first three columns), in the same order. */
export function sameRows(stored: readonly TsharkRow[], live: readonly TsharkRow[]): boolean {
  return stored.length === live.length && stored.every((r, i) => r.text === live[i]?.text);
}

/** tshark's option that turns its TCP sequence analysis off (see above). */
export const NO_SEQUENCE_ANALYSIS = ['-o', 'tcp.analyze_sequence_numbers:FALSE'] as const;

/**
 * Runs tshark on the file (stream and port columns added); resolves null when tshark is missing or fails.
 * `sequenceAnalysis`: false for the rows compared with smtpscope, true for the check against the stored dump.
 */
export function runTsharkFields(
  path: string,
  decodeAsPort: number | null,
  timeoutMs: number,
  sequenceAnalysis: boolean,
): Promise<string | null> {
  const args = ['-r', path, '-Y', 'smtp', '-T', 'fields'];
  if (!sequenceAnalysis) args.push(...NO_SEQUENCE_ANALYSIS);
  for (const f of ['smtp.req.command', 'smtp.req.parameter', 'smtp.response.code']) args.push('-e', f);
  for (const f of ['tcp.stream', 'tcp.srcport', 'tcp.dstport']) args.push('-e', f);
  if (decodeAsPort !== null) args.push('-d', `tcp.port==${decodeAsPort},smtp`);
  return new Promise((resolve) => {
    execFile('tshark', args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => {
      resolve(error === null ? stdout : null);
    });
  });
}

/** Whether a `tshark` binary answers `-v`. */
export function tsharkAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('tshark', ['-v'], { timeout: 10_000 }, (error) => resolve(error === null));
  });
}
