/**
 * Finds the peer captures in the peer folder and, for each, the files holding the peers' expected output:
 * Zeek `smtp.log` baselines, suricata-verify `test.yaml` files, Arkime `.test` sessions and tshark field dumps.
 * The folder layout is described in the folder's own index; nothing here is copied from it.
 */

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_SMTP_PORTS } from '../../../src/reassembly/options.js';
import { parseYamlSubset, type YamlValue } from './yaml-subset.js';

export interface PeerCapture {
  /** `<source dir>/<file name>`, the capture's name in reports and expectations. */
  readonly name: string;
  readonly source: string;
  readonly path: string;
  /** SMTP ports to analyse: the defaults plus any port tshark had to be told about (decode-as dump). */
  readonly ports: ReadonlySet<number>;
  /** Non-default port the capture's SMTP runs on, or null. */
  readonly extraPort: number | null;
  /** Zeek smtp.log baselines of this capture. */
  readonly zeekLogs: readonly string[];
  /** Zeek conn.log baselines of this capture (connections Zeek saw, with their service). */
  readonly zeekConnLogs: readonly string[];
  /** nDPI's expected `ndpiReader` output for the capture, or null. */
  readonly ndpiOut: string | null;
  readonly suricataTests: readonly { readonly name: string; readonly doc: YamlValue }[];
  readonly arkimeTest: string | null;
  readonly tsharkTsv: string | null;
}

const CAPTURE_RE = /\.(pcap|pcapng|pcap\.gz)$/;

/** What the folder holds besides the captures: expected outputs that belong to no capture. */
export interface PeerFolder {
  readonly captures: PeerCapture[];
  /** Zeek logs (smtp.log, conn.log) the index does not tie to a capture: matched later by endpoints. */
  readonly unmappedZeekLogs: readonly string[];
  /** Problems that fail the run: a suricata-verify test whose pcap is not in the folder, and the like. */
  readonly problems: readonly string[];
}

/**
 * The expected-output files each capture's row of the folder index names (`<source>/<capture>` → file names).
 * Rows are the index tables' lines `| \`capture\` | ...`; a section `### <source> (...)` sets the source.
 */
export function parseIndexOutputs(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  let source = '';
  for (const line of text.split(/\r?\n/)) {
    const section = /^###\s+(\S+)/.exec(line);
    if (section !== null) {
      source = section[1] ?? '';
      continue;
    }
    const row = /^\|\s*`([^`]+)`\s*\|(.*)$/.exec(line);
    if (row === null || source === '') continue;
    const files = new Set(row[2]?.match(/[\w.+-]+__[\w.+-]+/g) ?? []);
    out.set(`${source}/${row[1] ?? ''}`, files);
  }
  return out;
}

export async function listPeerCaptures(root: string): Promise<PeerFolder> {
  const out: PeerCapture[] = [];
  const problems: string[] = [];
  const unmappedZeekLogs: string[] = [];
  let indexOutputs = new Map<string, Set<string>>();
  try {
    indexOutputs = parseIndexOutputs(await readFile(join(root, 'INDEX.md'), 'utf8'));
  } catch {
    problems.push('the peer folder has no INDEX.md: Zeek logs can only be matched by endpoints');
  }
  const sources = (await readdir(root, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
  sources.sort();
  for (const source of sources) {
    const dir = join(root, source);
    const files = (await readdir(dir)).sort();
    const tsharkDir = join(dir, '_tshark');
    let tsharkFiles: string[] = [];
    try {
      tsharkFiles = await readdir(tsharkDir);
    } catch {
      tsharkFiles = [];
    }
    const suricataDocs = new Map<string, YamlValue>();
    if (source === 'suricata-verify') {
      for (const f of files.filter((f) => f.endsWith('__test.yaml'))) {
        suricataDocs.set(
          f.slice(0, -'__test.yaml'.length),
          parseYamlSubset(await readFile(join(dir, f), 'utf8')),
        );
      }
    }
    const assigned = new Set<string>();
    for (const file of files.filter((f) => CAPTURE_RE.test(f))) {
      // A decode-as dump in which tshark found SMTP names the port; an empty one is a negative case (not SMTP).
      let decodeAs = tsharkFiles.find((t) => t.startsWith(`${file}.decode-as-`));
      if (decodeAs !== undefined && (await readFile(join(tsharkDir, decodeAs), 'utf8')).trim() === '')
        decodeAs = undefined;
      const extraPort =
        decodeAs === undefined ? null : Number(/decode-as-(\d+)\.tsv$/.exec(decodeAs)?.[1] ?? 'NaN');
      const port = extraPort !== null && Number.isInteger(extraPort) ? extraPort : null;
      const ports = new Set(DEFAULT_SMTP_PORTS);
      if (port !== null) ports.add(port);
      const tsv =
        port !== null && decodeAs !== undefined ? decodeAs : tsharkFiles.find((t) => t === `${file}.tsv`);
      const named = indexOutputs.get(`${source}/${file}`) ?? new Set<string>();
      const zeekOf = (kind: string): string[] =>
        source === 'zeek'
          ? files.filter((f) => f.endsWith(`__${kind}`) && named.has(f)).map((f) => join(dir, f))
          : [];
      const zeekLogs = zeekOf('smtp.log');
      const zeekConnLogs = zeekOf('conn.log');
      const suricataTests: { name: string; doc: YamlValue }[] = [];
      for (const [test, doc] of suricataDocs) {
        const reads = suricataCaptureOf(test, doc);
        if (reads === file || (reads === null && file.startsWith(`${test}__`))) {
          suricataTests.push({ name: test, doc });
          assigned.add(test);
        }
      }
      const arkime = source === 'arkime' ? file.replace(/\.pcap$/, '.test') : null;
      const ndpi = source === 'ndpi' && files.includes(`${file}.out`) ? join(dir, `${file}.out`) : null;
      out.push({
        name: `${source}/${file}`,
        source,
        path: join(dir, file),
        ports,
        extraPort: port,
        zeekLogs,
        zeekConnLogs,
        ndpiOut: ndpi,
        suricataTests,
        arkimeTest: arkime !== null && files.includes(arkime) ? join(dir, arkime) : null,
        tsharkTsv: tsv === undefined ? null : join(tsharkDir, tsv),
      });
    }
    for (const test of suricataDocs.keys()) {
      if (assigned.has(test)) continue;
      const reads = suricataCaptureOf(test, suricataDocs.get(test) ?? null) ?? `${test}__*.pcap`;
      problems.push(
        `${source}/${test}__test.yaml reads ${reads}, which is not in the folder: its checks are not run`,
      );
    }
    if (source === 'zeek') {
      const mapped = new Set(out.flatMap((c) => [...c.zeekLogs, ...c.zeekConnLogs]));
      for (const f of files.filter((f) => /__(smtp|conn)\.log$/.test(f)))
        if (!mapped.has(join(dir, f))) unmappedZeekLogs.push(join(dir, f));
    }
  }
  return { captures: out, unmappedZeekLogs, problems };
}

/** The capture file (as named in the peer folder) a suricata-verify test reads. */
export function suricataCaptureOf(test: string, doc: YamlValue): string | null {
  const pcap = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? doc['pcap'] : undefined;
  if (typeof pcap === 'string') {
    const parts = pcap.split('/').filter((p) => p !== '..' && p !== '.' && p !== '');
    const base = parts[parts.length - 1] ?? pcap;
    const dir = parts.length >= 2 ? (parts[parts.length - 2] ?? test) : test;
    return `${dir}__${base}`;
  }
  return null;
}
