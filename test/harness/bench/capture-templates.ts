/**
 * Reads the bundled captures and turns every TCP connection in them into a {@link FlowTemplate}: the packets in
 * capture order, with the client (the side that sent the SYN, else the higher port) and server told apart.
 * Server ports outside smtpscope's default set are mapped to 25 (24 for the LMTP capture), so the copies are
 * analysed with default options.
 */

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openFileSource } from '../../../src/capture/open-file.js';
import { createPacketDecoder } from '../../../src/decode/packet-decoder.js';
import { DEFAULT_SMTP_PORTS } from '../../../src/reassembly/options.js';
import { type FlowTemplate, makeTemplate, type TemplatePacket, templatePacket } from './frame-builder.js';

interface RawFlowPacket {
  readonly srcKey: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly flags: number;
  readonly seq: number;
  readonly ack: number;
  readonly window: number;
  readonly payload: Uint8Array;
}

const LMTP_CAPTURE_PORT = 2592;

function addressKey(buffer: Uint8Array, offset: number, length: number): string {
  let key = '';
  for (let i = 0; i < length; i++) key += `${buffer[offset + i]!.toString(16)}.`;
  return key;
}

/** Templates of every TCP connection with payload in the capture files of `dir`, in file-name order. */
export async function loadCaptureTemplates(dir: string): Promise<FlowTemplate[]> {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.pcap') || name.endsWith('.pcapng'))
    .sort();
  const templates: FlowTemplate[] = [];
  for (const name of files) {
    const source = await openFileSource(join(dir, name));
    const decoder = createPacketDecoder({ ports: null });
    const flows = new Map<string, { ipv6: boolean; packets: RawFlowPacket[] }>();
    const order: string[] = [];
    await source.forEach((packet) => {
      if (decoder.decode(packet).kind !== 'tcp') return;
      const s = decoder.segment;
      const length = s.ipVersion === 4 ? 4 : 16;
      const a = `${addressKey(s.buffer, s.srcAddrOffset, length)}${s.srcPort}`;
      const b = `${addressKey(s.buffer, s.dstAddrOffset, length)}${s.dstPort}`;
      const key = a < b ? `${a}|${b}` : `${b}|${a}`;
      let flow = flows.get(key);
      if (flow === undefined) {
        flow = { ipv6: s.ipVersion === 6, packets: [] };
        flows.set(key, flow);
        order.push(key);
      }
      flow.packets.push({
        srcKey: a,
        srcPort: s.srcPort,
        dstPort: s.dstPort,
        flags: s.flags,
        seq: s.seq,
        ack: s.ack,
        window: s.window,
        payload: s.buffer.slice(s.payloadOffset, s.payloadOffset + s.payloadLength),
      });
    });
    await source.close();
    let n = 0;
    for (const key of order) {
      const flow = flows.get(key)!;
      const first = flow.packets[0]!;
      const syn = flow.packets.find((p) => (p.flags & 0x12) === 0x02);
      const clientKey =
        syn?.srcKey ??
        (first.srcPort > first.dstPort ? first.srcKey : `${key}`.split('|').find((k) => k !== first.srcKey));
      const clientFirst = flow.packets.find((p) => p.srcKey === clientKey) ?? first;
      const capturedServerPort = clientFirst.srcKey === clientKey ? clientFirst.dstPort : clientFirst.srcPort;
      if (!flow.packets.some((p) => p.payload.length > 0)) continue;
      const serverPort = DEFAULT_SMTP_PORTS.has(capturedServerPort)
        ? capturedServerPort
        : capturedServerPort === LMTP_CAPTURE_PORT
          ? 24
          : 25;
      const packets: TemplatePacket[] = flow.packets.map((p) =>
        templatePacket(p.srcKey === clientKey, p.flags, p.seq, p.ack, p.payload, p.window),
      );
      templates.push(makeTemplate(`${name}#${++n}`, 'tcp', flow.ipv6, serverPort, true, packets));
    }
  }
  return templates;
}
