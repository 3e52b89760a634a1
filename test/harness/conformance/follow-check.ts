/**
 * Reassembly cross-check: for every TCP connection on the SMTP ports of a capture, the client and server bytes
 * smtpscope reassembles (`listFlows`) must equal, byte for byte, what tshark's "follow TCP stream" gives
 * (`-q -z follow,tcp,raw,N`, one tshark run per capture following every stream). tshark's streams are mapped
 * to smtpscope flows by their endpoints (the `Node 0` / `Node 1` lines).
 * Differences are allowed only where test/conformance/expectations.json lists them under `followDifferences`.
 *
 * Run as a command: `node dist-harness/test/harness/conformance/follow-check.js [PEER_DIR]` (checks captures/ and the peer folder).
 */

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listFlows } from '../../../src/pipeline/flows.js';
import type { Direction, FlowKey } from '../../../src/reassembly/types.js';

export interface FollowDifference {
  readonly file: string;
  /** `client > server` endpoints as `ip:port` (IPv6 in brackets). */
  readonly flow: string;
  readonly direction: Direction;
  /** Byte counts and the first differing offset. */
  readonly detail: string;
}

export interface FollowExpectation {
  readonly file: string;
  readonly flow: string;
  readonly direction: Direction;
  readonly reason: string;
}

export interface FollowResult {
  readonly file: string;
  readonly flows: number;
  readonly differences: readonly FollowDifference[];
  readonly error: string | null;
}

const ALL_PORTS: ReadonlySet<number> = new Set(Array.from({ length: 65536 }, (_, i) => i));

const endpoint = (ip: string, port: number | string): string =>
  ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;

function run(args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('tshark', args, { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 }, (error, stdout) => {
      if (error !== null) reject(error);
      else resolve(stdout);
    });
  });
}

/** Parses one or more `follow,tcp,raw` blocks into endpoint-keyed byte streams ("A>B" → bytes sent by A). */
export function parseFollowRaw(text: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let node0 = '';
  let node1 = '';
  let parts0: Buffer[] = [];
  let parts1: Buffer[] = [];
  const flush = (): void => {
    if (node0 === '' || node1 === '') return;
    out.set(`${node0}>${node1}`, Buffer.concat(parts0));
    out.set(`${node1}>${node0}`, Buffer.concat(parts1));
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('Follow: ')) {
      flush();
      node0 = '';
      node1 = '';
      parts0 = [];
      parts1 = [];
    } else if (line.startsWith('Node 0: ')) node0 = line.slice(8).trim();
    else if (line.startsWith('Node 1: ')) node1 = line.slice(8).trim();
    else if (line.startsWith('\t') && /^[0-9a-f]+$/.test(line.slice(1)))
      parts1.push(Buffer.from(line.slice(1), 'hex'));
    else if (/^[0-9a-f]+$/.test(line)) parts0.push(Buffer.from(line, 'hex'));
  }
  flush();
  return out;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

export async function followCheckFile(
  path: string,
  name: string,
  ports: ReadonlySet<number>,
  timeoutMs = 60_000,
): Promise<FollowResult> {
  const collected = new Map<string, { key: FlowKey; c2s: Buffer[]; s2c: Buffer[] }>();
  const onSmtpPort = (flow: FlowKey): boolean => ports.has(flow.server.port) || ports.has(flow.client.port);
  try {
    // Every TCP connection is listed (all ports), so that their number bounds tshark's stream indexes and one
    // tshark run can follow them all; only connections on the SMTP ports are compared.
    const { flows: all } = await listFlows(path, {
      ports: ALL_PORTS,
      collector: {
        wants: onSmtpPort,
        data(flow, direction, bytes) {
          let entry = collected.get(flow.id);
          if (entry === undefined) {
            entry = { key: flow, c2s: [], s2c: [] };
            collected.set(flow.id, entry);
          }
          entry[direction].push(Buffer.from(bytes));
        },
      },
    });
    const flows = all.filter((f) => onSmtpPort(f.key));
    const follow = new Map<string, Uint8Array>();
    if (flows.length > 0) {
      // Stream indexes count connections in order of first packet; a margin covers reused port pairs.
      const streams = all.length + 8;
      const args = ['-n', '-r', path, '-q'];
      for (let s = 0; s < streams; s++) args.push('-z', `follow,tcp,raw,${s}`);
      for (const [k, v] of parseFollowRaw(await run(args, timeoutMs))) follow.set(k, v);
    }
    const differences: FollowDifference[] = [];
    for (const flow of flows) {
      const client = endpoint(flow.key.client.ip, flow.key.client.port);
      const server = endpoint(flow.key.server.ip, flow.key.server.port);
      const ours = collected.get(flow.key.id);
      for (const direction of ['c2s', 's2c'] as const) {
        const mine = Buffer.concat(ours?.[direction] ?? []);
        const theirs =
          follow.get(direction === 'c2s' ? `${client}>${server}` : `${server}>${client}`) ??
          new Uint8Array(0);
        const at = firstDifference(mine, theirs);
        if (at >= 0) {
          differences.push({
            file: name,
            flow: `${client} > ${server}`,
            direction,
            detail: `smtpscope ${mine.length} bytes, tshark ${theirs.length} bytes, first difference at offset ${at}`,
          });
        }
      }
    }
    return { file: name, flows: flows.length, differences, error: null };
  } catch (error) {
    return {
      file: name,
      flows: 0,
      differences: [],
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/** Captures to check: `captures/*` of the repository and every capture of the peer folder (with its ports). */
export async function followCheckTargets(
  repoRoot: string,
  peerDir: string | null,
): Promise<{ path: string; name: string; ports: ReadonlySet<number> }[]> {
  const { DEFAULT_SMTP_PORTS } = await import('../../../src/reassembly/options.js');
  const { listPeerCaptures } = await import('./peer-captures.js');
  const out: { path: string; name: string; ports: ReadonlySet<number> }[] = [];
  const own = join(repoRoot, 'captures');
  for (const f of (await readdir(own)).sort()) {
    if (/\.(pcap|pcapng|pcap\.gz)$/.test(f))
      out.push({ path: join(own, f), name: `captures/${f}`, ports: DEFAULT_SMTP_PORTS });
  }
  if (peerDir !== null && existsSync(peerDir)) {
    for (const c of (await listPeerCaptures(peerDir)).captures)
      out.push({ path: c.path, name: `peer/${c.name}`, ports: c.ports });
  }
  return out;
}

export function parseFollowExpectations(text: string): FollowExpectation[] {
  const doc = JSON.parse(text) as { followDifferences?: unknown };
  const list = Array.isArray(doc.followDifferences) ? doc.followDifferences : [];
  return list as FollowExpectation[];
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        const item = items[i];
        if (item !== undefined) out[i] = await fn(item);
      }
    }),
  );
  return out;
}

/** Runs the whole check; prints differences and a final line; returns the exit code. */
export async function runFollowCheck(argv: readonly string[]): Promise<number> {
  const repoRoot = `${process.cwd()}/`;
  const peerDir = argv[0] ?? '../shared/captures/peer';
  const expectationsPath = join(repoRoot, 'test/conformance/expectations.json');
  const expected = existsSync(expectationsPath)
    ? parseFollowExpectations(await readFile(expectationsPath, 'utf8'))
    : [];
  const targets = await followCheckTargets(repoRoot, peerDir);
  const results = await mapLimit(targets, 2, (t) => followCheckFile(t.path, t.name, t.ports));
  const key = (x: { file: string; flow: string; direction: string }): string =>
    `${x.file} ${x.flow} ${x.direction}`;
  const accepted = new Set(expected.map(key));
  const seen = new Set<string>();
  let failures = 0;
  let flows = 0;
  let recorded = 0;
  for (const r of results) {
    flows += r.flows;
    if (r.error !== null) {
      failures++;
      console.log(`follow-check: ${r.file}: ${r.error.split('\n')[0] ?? ''}`);
    }
    for (const d of r.differences) {
      seen.add(key(d));
      if (accepted.has(key(d))) {
        recorded++;
        continue;
      }
      failures++;
      console.log(`follow-check: ${d.file} ${d.flow} ${d.direction}: ${d.detail} (not recorded)`);
    }
  }
  const ran = new Set(results.map((r) => r.file));
  for (const e of expected) {
    if (ran.has(e.file) && !seen.has(key(e))) {
      failures++;
      console.log(`follow-check: stale entry, bytes now agree: ${key(e)}`);
    }
  }
  console.log(
    `follow-check: ${results.length} files, ${flows} connections, ${recorded} recorded differences, ${failures} failures`,
  );
  return failures === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  runFollowCheck(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exitCode = 2;
    },
  );
}
