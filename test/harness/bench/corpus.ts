/**
 * Builds a benchmark capture deterministically: copies of SMTP flow templates (the bundled captures, or a
 * synthetic session) with a distinct client address and port per copy, interleaved so that `concurrency`
 * connections are open at once, mixed with non-SMTP background until SMTP makes up `smtpShare` of the bytes.
 * Packet times advance by a fixed step, so the capture is the same on every run and no connection goes idle.
 */

import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCaptureFileWriter } from './capture-file-writer.js';
import { loadCaptureTemplates } from './capture-templates.js';
import { buildFrame, type FlowEndpoints, type FlowTemplate } from './frame-builder.js';
import {
  backgroundTemplates,
  createRandom,
  type SyntheticSmtpOptions,
  syntheticSmtpTemplate,
} from './synthetic-flows.js';

export interface CorpusSpec {
  /** File name part: `smtpscope-bench-<name>.pcap`. */
  readonly name: string;
  readonly sizeBytes: number;
  /** Connections open at once (SMTP and background together). */
  readonly concurrency: number;
  /** Fraction of frame bytes that belong to SMTP connections (0 to 1). */
  readonly smtpShare: number;
  /**
   * 'captures': copies of every connection in the bundled captures; 'mixed': every third copy from the
   * captures, the others from {@link MIXED_SYNTHETIC_SHAPES} synthetic sessions whose message sizes are spread
   * log-uniformly from 1 KB to 2 MB (the size mix of the reference corpus); otherwise one synthetic shape.
   */
  readonly smtp: 'captures' | 'mixed' | SyntheticSmtpOptions;
  readonly seed: number;
  /** Packet time between consecutive frames. */
  readonly stepMicros: number;
}

export interface Corpus {
  readonly spec: CorpusSpec;
  readonly pcapPath: string;
  readonly pcapngPath: string;
  readonly pcapBytes: number;
  readonly pcapngBytes: number;
  readonly packets: number;
  readonly smtpPackets: number;
  readonly smtpFrameBytes: number;
  readonly smtpSessions: number;
  readonly buildMs: number;
}

const START_MICROS = 1_704_067_200_000_000; // 2024-01-01T00:00:00Z
const BACKGROUND_TEMPLATES = 64;

interface ActiveFlow {
  readonly template: FlowTemplate;
  readonly endpoints: FlowEndpoints;
  next: number;
}

function smtpEndpoints(template: FlowTemplate, copy: number, templateIndex: number): FlowEndpoints {
  const clientIp = template.ipv6
    ? Uint8Array.from([
        0xfd,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        (copy >>> 24) & 0xff,
        (copy >>> 16) & 0xff,
        (copy >>> 8) & 0xff,
        copy & 0xff,
      ])
    : Uint8Array.from([10, 1 + ((copy >>> 16) & 0x7f), (copy >>> 8) & 0xff, copy & 0xff]);
  const serverIp = template.ipv6
    ? Uint8Array.from([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25])
    : Uint8Array.from([192, 0, 2, 1 + (templateIndex % 250)]);
  return { clientIp, serverIp, clientPort: 1024 + ((copy * 7) % 64_000), serverPort: template.serverPort };
}

function backgroundEndpoints(template: FlowTemplate, copy: number): FlowEndpoints {
  return {
    clientIp: Uint8Array.from([172, 16 + ((copy >>> 16) & 0x0f), (copy >>> 8) & 0xff, copy & 0xff]),
    serverIp: Uint8Array.from([198, 51, 100, 1 + (copy % 200)]),
    clientPort: 1024 + ((copy * 13) % 64_000),
    serverPort: template.serverPort,
  };
}

export function corpusPaths(
  spec: CorpusSpec,
  dir = tmpdir(),
): { pcap: string; pcapng: string; manifest: string } {
  const base = join(dir, `smtpscope-bench-${spec.name}`);
  return { pcap: `${base}.pcap`, pcapng: `${base}.pcapng`, manifest: `${base}.json` };
}

export const MIXED_SYNTHETIC_SHAPES = 40;

async function smtpTemplatesFor(spec: CorpusSpec, capturesDir: string): Promise<FlowTemplate[]> {
  if (spec.smtp === 'captures') return loadCaptureTemplates(capturesDir);
  if (spec.smtp !== 'mixed') return [syntheticSmtpTemplate(spec.smtp)];
  const captured = await loadCaptureTemplates(capturesDir);
  const random = createRandom(spec.seed ^ 0x5eed);
  const synthetic: FlowTemplate[] = [];
  for (let i = 0; i < MIXED_SYNTHETIC_SHAPES; i++) {
    synthetic.push(
      syntheticSmtpTemplate({
        messageBytes: Math.floor(
          Math.exp(Math.log(1_000) + random() * (Math.log(2_000_000) - Math.log(1_000))),
        ),
        recipients: 1 + Math.floor(random() * 4),
        pipelined: i % 2 === 0,
        transactions: 1 + Math.floor(random() * 3),
        seed: spec.seed * 1000 + i,
      }),
    );
  }
  // Every third copy comes from the captures.
  const out: FlowTemplate[] = [];
  for (let i = 0; out.length < 3 * Math.max(captured.length, synthetic.length / 2); i++) {
    out.push(
      captured[i % captured.length]!,
      synthetic[(2 * i) % synthetic.length]!,
      synthetic[(2 * i + 1) % synthetic.length]!,
    );
  }
  return out;
}

/** Builds the corpus, or reuses the files of an earlier identical build (same spec, same sizes). */
export async function buildCorpus(spec: CorpusSpec, capturesDir: string): Promise<Corpus> {
  const paths = corpusPaths(spec);
  if (existsSync(paths.manifest) && existsSync(paths.pcap) && existsSync(paths.pcapng)) {
    const previous = JSON.parse(readFileSync(paths.manifest, 'utf8')) as Corpus;
    if (
      JSON.stringify(previous.spec) === JSON.stringify(spec) &&
      statSync(paths.pcap).size === previous.pcapBytes &&
      statSync(paths.pcapng).size === previous.pcapngBytes
    )
      return previous;
  }
  const started = Date.now();
  const smtpTemplates = await smtpTemplatesFor(spec, capturesDir);
  const background = backgroundTemplates(spec.seed, BACKGROUND_TEMPLATES);
  const random = createRandom(spec.seed);
  const writer = createCaptureFileWriter(paths.pcap, paths.pcapng);
  const frame = new Uint8Array(70_000);
  const active: ActiveFlow[] = [];
  let smtpCopies = 0;
  let backgroundCopies = 0;
  // Bytes of the flows started so far (written or still to come): new flows start only while below the
  // target size, so the file ends close to it, and the SMTP share is kept on these planned bytes.
  let plannedBytes = 0;
  let plannedSmtpBytes = 0;
  let smtpBytes = 0;
  let smtpPackets = 0;
  let ts = START_MICROS;
  let ipId = 0;
  while (plannedBytes < spec.sizeBytes || active.length > 0) {
    while (plannedBytes < spec.sizeBytes && active.length < spec.concurrency) {
      const wantSmtp =
        spec.smtpShare >= 1 || (spec.smtpShare > 0 && plannedSmtpBytes <= spec.smtpShare * plannedBytes);
      let template: FlowTemplate;
      if (wantSmtp) {
        const index = smtpCopies % smtpTemplates.length;
        template = smtpTemplates[index]!;
        active.push({ template, endpoints: smtpEndpoints(template, smtpCopies, index), next: 0 });
        smtpCopies++;
        plannedSmtpBytes += template.frameBytes;
      } else {
        template = background[backgroundCopies % background.length]!;
        active.push({ template, endpoints: backgroundEndpoints(template, backgroundCopies), next: 0 });
        backgroundCopies++;
      }
      plannedBytes += template.frameBytes;
    }
    const pick = Math.floor(random() * active.length);
    const flow = active[pick]!;
    const packet = flow.template.packets[flow.next++]!;
    const length = buildFrame(frame, flow.template, packet, flow.endpoints, ipId);
    ipId = (ipId + 1) & 0xffff;
    writer.write(frame, length, ts);
    ts += spec.stepMicros;
    if (flow.template.smtp) {
      smtpBytes += length;
      smtpPackets++;
    }
    if (flow.next === flow.template.packets.length) {
      active[pick] = active[active.length - 1]!;
      active.pop();
    }
  }
  const sizes = writer.close();
  const corpus: Corpus = {
    spec,
    pcapPath: paths.pcap,
    pcapngPath: paths.pcapng,
    pcapBytes: sizes.pcapBytes,
    pcapngBytes: sizes.pcapngBytes,
    packets: sizes.packets,
    smtpPackets,
    smtpFrameBytes: smtpBytes,
    smtpSessions: smtpCopies,
    buildMs: Date.now() - started,
  };
  writeFileSync(paths.manifest, `${JSON.stringify(corpus, null, 2)}\n`);
  return corpus;
}

export function removeCorpus(corpus: Corpus): void {
  const paths = corpusPaths(corpus.spec);
  for (const path of [paths.pcap, paths.pcapng, paths.manifest]) rmSync(path, { force: true });
}
