/**
 * `-w FILE` with a capture file as input (docs/FILTERS.md): the packets of the selected sessions only, written to
 * a new pcap file to hand a small capture to a colleague. A second pass over the input after the analysis:
 * each TCP packet whose two endpoints are those of a selected connection, from its first packet on (until a
 * later connection on the same endpoints), is written, as captured, in both directions. Packets that do not decode as TCP on the analysed ports (and the
 * non-final fragments of a fragmented datagram) are not written.
 */

import { openFileSource } from '../capture/open-file.js';
import { createPcapWriter, type PcapWriter } from '../capture/pcap-writer.js';
import { formatAddress } from '../decode/address.js';
import { createPacketDecoder } from '../decode/packet-decoder.js';
import type { SmtpSession } from '../model/types.js';

const SNAPLEN = 262_144;

/** The connections to keep: key `ip|port|ip|port` (either order) → packet-time windows. */
export class ConnectionSet {
  private readonly windows = new Map<string, { first: number; last: number }[]>();

  add(session: SmtpSession): void {
    const key = keyOf(session.client.ip, session.client.port, session.server.ip, session.server.port);
    const list = this.windows.get(key);
    const w = { first: session.flow.firstTsMicros, last: session.flow.lastTsMicros };
    if (list === undefined) this.windows.set(key, [w]);
    else list.push(w);
  }

  get size(): number {
    return this.windows.size;
  }

  has(ipA: string, portA: number, ipB: string, portB: number, tsMicros: number): boolean {
    const list = this.windows.get(keyOf(ipA, portA, ipB, portB));
    // A connection's packets run from its first packet to the first packet of the next connection on the same
    // addresses and ports (the last ACK after the FINs comes after the session closed).
    if (list === undefined) return false;
    return list.some(
      (w) => tsMicros >= w.first && !list.some((x) => x.first > w.first && x.first <= tsMicros),
    );
  }
}

function keyOf(ipA: string, portA: number, ipB: string, portB: number): string {
  const a = `${ipA}|${portA}`;
  const b = `${ipB}|${portB}`;
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

export interface WriteSelectedResult {
  readonly packets: number;
  readonly written: number;
}

/** Writes the packets of `keep` from capture `input` to `output` (classic pcap, the input's link type). */
export async function writeSelectedPackets(
  input: string,
  output: string,
  keep: ConnectionSet,
  ports: ReadonlySet<number>,
): Promise<WriteSelectedResult> {
  const source = await openFileSource(input);
  const decoder = createPacketDecoder({ ports });
  const segment = decoder.segment;
  let writer: PcapWriter | null = null;
  let packets = 0;
  let written = 0;
  try {
    await source.forEach((packet) => {
      packets++;
      writer ??= createPcapWriter({
        path: output,
        linkType: packet.linkType,
        snaplen: SNAPLEN,
        flushIntervalMs: null,
      });
      if (!decoder.decodeSegment(packet)) return;
      const v = segment.ipVersion;
      const src = formatAddress(segment.buffer, segment.srcAddrOffset, v);
      const dst = formatAddress(segment.buffer, segment.dstAddrOffset, v);
      if (keep.has(src, segment.srcPort, dst, segment.dstPort, packet.tsMicros)) {
        writer.write(packet);
        written++;
      }
    });
    writer ??= createPcapWriter({ path: output, linkType: 1, snaplen: SNAPLEN, flushIntervalMs: null });
  } finally {
    (writer as PcapWriter | null)?.close();
    await source.close();
  }
  return { packets, written };
}
