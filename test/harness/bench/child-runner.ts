/**
 * Runs one measurement in a child process: a Node mode through measure.js, or tshark under /usr/bin/time
 * (wall time and peak RSS of the whole tshark process).
 */

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MeasureMode, Measurement, TlsArgument } from './measure.js';

const MEASURE_SCRIPT = fileURLToPath(new URL('./measure.js', import.meta.url));
const TIME = '/usr/bin/time';

export function runNodeMeasurement(
  mode: MeasureMode,
  path: string,
  outDir: string,
  tls: TlsArgument | null = null,
): Measurement {
  const tlsArgs = tls === null ? [] : [tls.keyLog ?? '-'];
  const result = spawnSync(process.execPath, [MEASURE_SCRIPT, mode, path, outDir, ...tlsArgs], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.status !== 0)
    throw new Error(`measure ${mode} ${path} failed (${result.status}): ${result.stderr}`);
  const line = result.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as Measurement;
}

export function findTshark(): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    const candidate = `${dir}/tshark`;
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  return null;
}

/** The reference tshark command: SMTP dissection with two fields written per SMTP packet. */
export const TSHARK_ARGS = [
  '-Y',
  'smtp',
  '-T',
  'fields',
  '-e',
  'smtp.req.command',
  '-e',
  'smtp.response.code',
];

export function runTsharkMeasurement(tshark: string, path: string): Measurement {
  if (!existsSync(TIME)) throw new Error(`${TIME} is needed to measure tshark's peak memory`);
  const result = spawnSync(TIME, ['-f', 'BENCH-TIME %e %M', tshark, '-r', path, ...TSHARK_ARGS], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 16 * 1024 * 1024,
  });
  const match = /BENCH-TIME ([\d.]+) (\d+)/.exec(result.stderr ?? '');
  if (result.status !== 0 || match === null)
    throw new Error(`tshark failed (${result.status}): ${result.stderr}`);
  return {
    mode: 'tshark',
    ms: Number(match[1]) * 1000,
    packets: 0,
    sessions: 0,
    maxRssBytes: Number(match[2]) * 1024,
  };
}

/** Wall and CPU time and peak RSS of one whole command-line process (Node's start-up included). */
export interface ProcessMeasurement {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly maxRssBytes: number;
}

/** Runs `node CLI ARGS...` under /usr/bin/time, its output thrown away. */
export function runCliMeasurement(cli: string, args: readonly string[]): ProcessMeasurement {
  if (!existsSync(TIME)) throw new Error(`${TIME} is needed to measure a whole process`);
  const result = spawnSync(TIME, ['-f', 'BENCH-TIME %e %U %S %M', process.execPath, cli, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 16 * 1024 * 1024,
  });
  const match = /BENCH-TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(result.stderr ?? '');
  if (result.status !== 0 || match === null)
    throw new Error(`${cli} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return {
    wallMs: Number(match[1]) * 1000,
    cpuMs: (Number(match[2]) + Number(match[3])) * 1000,
    maxRssBytes: Number(match[4]) * 1024,
  };
}
