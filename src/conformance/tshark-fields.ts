/**
 * tshark's view of an SMTP capture: the rows of `tshark -Y smtp -T fields -e smtp.req.command
 * -e smtp.req.parameter -e smtp.response.code`, counted per command (upper-cased) and per reply code. A row can
 * carry several reply codes separated by commas (several replies in one segment).
 */

import { execFile } from 'node:child_process';

export interface TsharkCounts {
  readonly commands: ReadonlyMap<string, number>;
  readonly codes: ReadonlyMap<string, number>;
}

export function parseTsharkFields(text: string): TsharkCounts {
  const commands = new Map<string, number>();
  const codes = new Map<string, number>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    const [command = '', , code = ''] = line.split('\t');
    for (const c of command.split(',')) {
      if (c !== '') commands.set(c.toUpperCase(), (commands.get(c.toUpperCase()) ?? 0) + 1);
    }
    for (const c of code.split(',')) {
      if (c !== '') codes.set(c, (codes.get(c) ?? 0) + 1);
    }
  }
  return { commands, codes };
}

/** Runs tshark on the file; resolves null when tshark is not installed or fails. */
export function runTsharkFields(
  path: string,
  decodeAsPort: number | null,
  timeoutMs: number,
): Promise<string | null> {
  const args = [
    '-r',
    path,
    '-Y',
    'smtp',
    '-T',
    'fields',
    '-e',
    'smtp.req.command',
    '-e',
    'smtp.req.parameter',
  ];
  args.push('-e', 'smtp.response.code');
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
