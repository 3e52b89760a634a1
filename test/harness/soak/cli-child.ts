/**
 * Running the smtpscope CLI as a child process for live-capture checks (the soak run and the end-to-end
 * tests): start it, tell when its capture is open, read its resident memory, stop it with a signal and
 * wait for its exit. Linux only (it reads /proc); every wait is bounded.
 */

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { PRODUCT_CLI } from '../repo-root.js';

/** Where the built CLI is: the product's build, dist/cli/bin.js (`npm run build`). */
export function defaultCliPath(): string {
  return PRODUCT_CLI;
}

export interface CliExit {
  /** Exit code, or null when a signal ended the process. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface CliChild {
  readonly pid: number;
  readonly process: ChildProcessWithoutNullStreams;
  /** Everything written to standard output / standard error so far. */
  stdout(): string;
  stderr(): string;
  /** Settles when the process has exited (never rejects). */
  readonly exited: Promise<CliExit>;
}

export interface StartCliOptions {
  readonly cliPath?: string;
  /** Extra arguments for node itself, before the script (e.g. `--import ...`). */
  readonly nodeArgs?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

/** Starts `node <cli> ...args` with piped standard streams. */
export function startCli(args: readonly string[], options: StartCliOptions = {}): CliChild {
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), options.cliPath ?? defaultCliPath(), ...args],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
    },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    out += text;
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    err += text;
  });
  child.stdin.end();
  const exited = new Promise<CliExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${process.execPath}`);
  return { pid, process: child, stdout: () => out, stderr: () => err, exited };
}

/** Inodes of the packet sockets open on this machine's network namespace (/proc/net/packet). */
function packetSocketInodes(): Set<string> {
  const inodes = new Set<string>();
  const lines = readFileSync('/proc/net/packet', 'utf8').split('\n').slice(1);
  for (const line of lines) {
    const fields = line.trim().split(/\s+/);
    const inode = fields[fields.length - 1];
    if (fields.length >= 9 && inode !== undefined) inodes.add(inode);
  }
  return inodes;
}

/**
 * Whether process `pid` holds an open packet socket, i.e. libpcap has opened an interface for it. libpcap
 * opens the socket before it installs the filter, and packets are captured from then on, so once this is
 * true no packet the capture is meant to see is missed.
 */
export function hasPacketSocket(pid: number): boolean {
  const inodes = packetSocketInodes();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match?.[1] !== undefined && inodes.has(match[1])) return true;
  }
  return false;
}

/** The child processes of `pid` (from /proc/PID/task/TID/children); empty when unknown. */
function childPids(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' '))
        if (c.trim() !== '') out.push(Number(c));
    } catch {
      // The task ended meanwhile.
    }
  }
  return out;
}

/** Whether `pid` or one of its child processes (a capture helper such as tcpdump) holds a packet socket. */
export function capturesPackets(pid: number): boolean {
  return hasPacketSocket(pid) || childPids(pid).some((c) => hasPacketSocket(c));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the child's capture is open (in the child or in its capture helper), then `settleMs` more (the CLI installs its signal handlers just
 * after opening the capture). Rejects if the child exits first or `timeoutMs` passes.
 */
export async function waitUntilCapturing(child: CliChild, timeoutMs: number, settleMs = 300): Promise<void> {
  let exited: CliExit | null = null;
  void child.exited.then((e) => {
    exited = e;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== null) {
      const e: CliExit = exited;
      throw new Error(
        `smtpscope exited before capturing (code ${e.code}, signal ${e.signal}): ${child.stderr().trim()}`,
      );
    }
    if (capturesPackets(child.pid)) break;
    if (Date.now() > deadline)
      throw new Error(`smtpscope did not open the capture within ${timeoutMs} ms: ${child.stderr().trim()}`);
    await sleep(25);
  }
  await sleep(settleMs);
}

/** Resident set size of `pid` in KiB (VmRSS in /proc/PID/status), or null once the process is gone. */
export function readRssKib(pid: number): number | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match?.[1] === undefined ? null : Number(match[1]);
}

/** Waits for the child to exit; on timeout kills it (SIGKILL) and rejects. */
export async function waitForExit(child: CliChild, timeoutMs: number): Promise<CliExit> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.process.kill('SIGKILL');
      reject(new Error(`smtpscope did not exit within ${timeoutMs} ms; killed. stderr: ${child.stderr()}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([child.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
