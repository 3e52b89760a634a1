/**
 * Live capture through a tcpdump helper process (`--live-helper tcpdump`, docs/LIVE.md), the way Wireshark uses
 * dumpcap: tcpdump opens the interface and writes classic pcap to a pipe, which is read like standard input.
 * What it gives that `cap` cannot:
 *
 * - kernel drop counts: tcpdump prints libpcap's statistics on standard error ("N packets dropped by kernel",
 *   and "N packets dropped by interface" where the driver counts them) when asked with SIGUSR1 (every
 *   {@link STATS_EVERY_MS} here) and when it exits; stats().dropped is the latest kernel count plus the
 *   interface count, null until tcpdump has printed one;
 * - kernel timestamps: each record carries the time the kernel stamped the packet with, not the time it reached
 *   JavaScript;
 * - privilege separation: only tcpdump needs the capture capabilities.
 *
 * Back-pressure: when the analysis or its outputs are behind, the pipe is not read; tcpdump then blocks on it,
 * the kernel's capture buffer (`-B`) fills, and the kernel drops and counts what does not fit. Nothing is lost
 * unseen.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { readU32 } from './capture-parser.js';
import { peekStream } from './chunk-reader.js';
import type { LivePacketSource, LiveSourceOptions, LiveSourceStats } from './live-source.js';
import { LiveCaptureError } from './live-source.js';
import { openStreamSource } from './open-file.js';
import type { PacketView, SourceWarning } from './types.js';

/** How often tcpdump is asked for its statistics while it runs. */
export const STATS_EVERY_MS = 1000;

/** Kernel and interface drops from tcpdump's statistics lines; null for a line that holds neither. */
export function parseTcpdumpDrops(line: string): { kernel: number } | { interface: number } | null {
  const kernel = /^(\d+) packets? dropped by kernel/.exec(line.trim());
  if (kernel?.[1] !== undefined) return { kernel: Number(kernel[1]) };
  const iface = /^(\d+) packets? dropped by interface/.exec(line.trim());
  if (iface?.[1] !== undefined) return { interface: Number(iface[1]) };
  return null;
}

export interface TcpdumpSourceOptions extends LiveSourceOptions {
  /** The tcpdump program (default: `tcpdump` on PATH). */
  readonly tcpdump?: string;
}

/** The tcpdump command line for `options` (exported for the tests and docs/LIVE.md). */
export function tcpdumpArgs(options: LiveSourceOptions): string[] {
  const args = ['-i', options.device, '-U', '-w', '-', '-n'];
  args.push('-s', String(options.snaplen === 0 ? 262144 : options.snaplen));
  args.push('-B', String(Math.max(1, Math.round(options.bufferMb * 1024))));
  if (!options.promiscuous) args.push('-p');
  if (options.count !== null) args.push('-c', String(options.count));
  if (options.filter !== '') args.push(options.filter);
  return args;
}

export async function openTcpdumpSource(options: TcpdumpSourceOptions): Promise<LivePacketSource> {
  const child: ChildProcess = spawn(options.tcpdump ?? 'tcpdump', tcpdumpArgs(options), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let kernelDrops: number | null = null;
  let interfaceDrops = 0;
  let stderrTail = '';
  let partial = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const drops = parseTcpdumpDrops(line);
      if (drops !== null && 'kernel' in drops) kernelDrops = drops.kernel;
      else if (drops !== null) interfaceDrops = drops.interface;
      else if (line.trim() !== '') stderrTail = line.trim();
    }
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const stdout = child.stdout;
  if (stdout === null) throw new LiveCaptureError('open-failed', 'tcpdump: no output pipe');
  // The 24-byte file header comes as soon as the interface is open; an error ends the pipe first.
  const head = await Promise.race([
    peekStream(stdout, 24),
    spawnError.then((e) => {
      throw new LiveCaptureError('open-failed', `cannot run tcpdump: ${e.message} (is it installed?)`, e);
    }),
  ]);
  if (head.length < 24) {
    await exited;
    const text = stderrTail || 'tcpdump ended before the capture began';
    const reason = /permission|not permitted/i.test(text)
      ? 'permission-denied'
      : /no such device|doesn't exist/i.test(text)
        ? 'no-such-device'
        : /syntax|filter|parse error/i.test(text)
          ? 'bad-filter'
          : 'open-failed';
    throw new LiveCaptureError(reason, `cannot capture on ${options.device} with tcpdump: ${text}`);
  }
  const littleEndian = head[0] === 0xd4 || head[0] === 0x4d;
  const linkType = readU32(head, 20, littleEndian) & 0xffff;
  const snaplen = readU32(head, 16, littleEndian);
  const inner = await openStreamSource(stdout, `live:${options.device}`);
  const statsTimer = setInterval(() => child.kill('SIGUSR1'), STATS_EVERY_MS).unref();
  const durationTimer =
    options.durationMs === null ? null : setTimeout(() => void stop(), options.durationMs).unref();
  let stopping: Promise<void> | null = null;
  /** Ends tcpdump (it prints its final statistics); what it wrote before is still read to the end. */
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(statsTimer);
      if (durationTimer !== null) clearTimeout(durationTimer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    })();
    return stopping;
  };
  void exited.then(() => {
    clearInterval(statsTimer);
    if (durationTimer !== null) clearTimeout(durationTimer);
  });

  let running: Promise<void> | null = null;
  const source: LivePacketSource = {
    description: inner.description,
    format: 'live',
    compressed: false,
    linkType,
    snaplen,
    device: options.device,
    forEach(onPacket: (packet: PacketView) => void, ready?: () => Promise<void> | null): Promise<void> {
      running = inner.forEach(onPacket, ready);
      return running;
    },
    async close(): Promise<void> {
      await stop();
      // The pipe ends once tcpdump has exited and its last records are read; a reader held back longer (a stop
      // while the outputs are behind) is released after a moment.
      if (running !== null) {
        let timer: ReturnType<typeof setTimeout> | null = null;
        await Promise.race([
          running.catch(() => undefined),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, 2000);
          }),
        ]);
        if (timer !== null) clearTimeout(timer);
      }
      await inner.close();
    },
    stats(): LiveSourceStats {
      const s = inner.stats();
      return {
        ...s,
        dropped: kernelDrops === null ? null : kernelDrops + interfaceDrops,
        queueDropped: 0,
      };
    },
    warnings(): readonly SourceWarning[] {
      return inner.warnings();
    },
  };
  return source;
}
