/**
 * `smtpscope flows`: the TCP connections on the selected ports, with what reassembly made of them, and
 * optionally one connection's reassembled client and server byte streams written to files (gaps are
 * filled with nothing and listed, so the bytes can be compared with other tools' follow-stream output).
 */

import { openFileSource } from '../capture/open-file.js';
import type { SourceWarning } from '../capture/types.js';
import { createPacketDecoder } from '../decode/packet-decoder.js';
import type { DecoderOptions } from '../decode/types.js';
import { createAssembler } from '../reassembly/assembler.js';
import { DEFAULT_SMTP_PORTS } from '../reassembly/options.js';
import type {
  AssemblerOptions,
  CloseReason,
  Direction,
  FlowKey,
  FlowStats,
  GapCause,
  StreamHandler,
} from '../reassembly/types.js';
import { runPacketLoop } from './packet-loop.js';

export interface FlowRecord {
  readonly key: FlowKey;
  readonly stats: FlowStats;
  readonly closeReason: CloseReason;
  readonly gaps: readonly {
    readonly direction: Direction;
    readonly offset: number;
    readonly length: number;
    readonly cause: GapCause;
  }[];
}

/** Receives the reassembled bytes of the selected connections. */
export interface StreamCollector {
  wants(flow: FlowKey): boolean;
  data(flow: FlowKey, direction: Direction, bytes: Uint8Array): void;
}

export interface FlowsOptions {
  readonly ports?: ReadonlySet<number>;
  readonly decoder?: Partial<DecoderOptions>;
  readonly assembler?: Partial<AssemblerOptions>;
  readonly collector?: StreamCollector;
  /** Gaps kept per flow for the listing. */
  readonly maxGapsListed?: number;
}

export async function listFlows(
  path: string,
  options: FlowsOptions = {},
): Promise<{ flows: FlowRecord[]; warnings: readonly SourceWarning[] }> {
  const ports = options.ports ?? DEFAULT_SMTP_PORTS;
  const maxGaps = options.maxGapsListed ?? 100;
  const records: FlowRecord[] = [];
  const collector = options.collector;
  const factory = {
    create(flow: FlowKey): StreamHandler {
      const gaps: FlowRecord['gaps'][number][] = [];
      const collect = collector?.wants(flow) === true ? collector : null;
      return {
        onData(chunk) {
          collect?.data(flow, chunk.direction, chunk.bytes);
        },
        onGap(direction, offset, length, cause) {
          if (gaps.length < maxGaps) gaps.push({ direction, offset, length, cause });
        },
        onClose(reason, _ts, stats) {
          records.push({ key: flow, stats, closeReason: reason, gaps });
        },
      };
    },
  };
  const source = await openFileSource(path);
  const decoder = createPacketDecoder({ ...options.decoder, ports });
  const assembler = createAssembler(factory, { ...options.assembler, ports });
  try {
    await runPacketLoop(source, decoder, assembler);
  } finally {
    assembler.flushAll('end-of-capture');
    await source.close();
  }
  records.sort((a, b) => a.stats.firstTsMicros - b.stats.firstTsMicros || a.key.id.localeCompare(b.key.id));
  return { flows: records, warnings: source.warnings() };
}
