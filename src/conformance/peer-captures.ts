/**
 * Finds the peer captures in the peer folder and, for each, the files holding the peers' expected output:
 * Zeek `smtp.log` baselines, suricata-verify `test.yaml` files, Arkime `.test` sessions and tshark field dumps.
 * The folder layout is described in the folder's own index; nothing here is copied from it.
 */

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_SMTP_PORTS } from '../reassembly/options.js';
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
  readonly zeekLogs: readonly string[];
  readonly suricataTests: readonly { readonly name: string; readonly doc: YamlValue }[];
  readonly arkimeTest: string | null;
  readonly tsharkTsv: string | null;
}

const CAPTURE_RE = /\.(pcap|pcapng|pcap\.gz)$/;

/**
 * Zeek baselines name the test, not the trace; this maps each smtp.log baseline (by test name) to its trace.
 * Taken from the trace each btest reads, which the folder index lists.
 */
const ZEEK_LOG_TRACE: Readonly<Record<string, string>> = {
  basic: 'smtp.pcap',
  'attachment-msg': 'smtp-attachment-msg.pcap',
  'bdat-0-last': 'rfc3030-bdat-0-last.pcap',
  bdat: 'rfc3030-bdat-example1.pcap',
  'bdat-multipart': 'rfc3030-bdat-multipart.pcap',
  'bdat-chunk-size-overflow': 'smtp-bdat-cmd-chunk-size-overflow.pcap',
  'bdat-chunk-size-overflow2': 'smtp-bdat-cmd-chunk-size-overflow2.pcap',
  'bdat-negative-chunk-size': 'smtp-bdat-cmd-negative-chunk-size.pcap',
  starttls: 'smtp-starttls.pcap',
};

export async function listPeerCaptures(root: string): Promise<PeerCapture[]> {
  const out: PeerCapture[] = [];
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
      const zeekLogs =
        source === 'zeek'
          ? Object.entries(ZEEK_LOG_TRACE)
              .filter(([, trace]) => trace === file)
              .map(([test]) => join(dir, `scripts.base.protocols.smtp.${test}__smtp.log`))
          : [];
      const suricataTests: { name: string; doc: YamlValue }[] = [];
      for (const [test, doc] of suricataDocs) {
        const named = suricataCaptureOf(test, doc);
        if (named === file || (named === null && file.startsWith(`${test}__`)))
          suricataTests.push({ name: test, doc });
      }
      const arkime = source === 'arkime' ? file.replace(/\.pcap$/, '.test') : null;
      out.push({
        name: `${source}/${file}`,
        source,
        path: join(dir, file),
        ports,
        extraPort: port,
        zeekLogs,
        suricataTests,
        arkimeTest: arkime !== null && files.includes(arkime) ? join(dir, arkime) : null,
        tsharkTsv: tsv === undefined ? null : join(tsharkDir, tsv),
      });
    }
  }
  return out;
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
