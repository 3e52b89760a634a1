/**
 * A StreamHandlerFactory for tests that logs every handler call as a line of text, keeps each flow's
 * reassembled bytes per direction, and records violations of the call-order contract in types.ts.
 */

import type {
  Direction,
  FlowKey,
  FlowStats,
  StreamHandler,
  StreamHandlerFactory,
} from '../../src/reassembly/types.js';

export interface RecordedFlow {
  readonly key: FlowKey;
  readonly createdAtMicros: number;
  readonly bytes: Record<Direction, number[]>;
  readonly chunks: Uint8Array[];
  closeReason: string | null;
  closedAtMicros: number | null;
  stats: FlowStats | null;
}

export interface Recorder {
  readonly factory: StreamHandlerFactory;
  /** One line per call: `C000001 data c2s 0 "EHLO a\r\n"`, `C000001 gap s2c 5 10 lost`, `C000001 close fin`. */
  readonly log: string[];
  readonly flows: RecordedFlow[];
  /** Contract violations seen (must stay empty). */
  readonly violations: string[];
  flow(id: string): RecordedFlow;
  /** The reassembled text of a direction (latin1). */
  text(id: string, direction: Direction): string;
}

function latin1(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return text;
}

export function createRecorder(accept: (flow: FlowKey) => boolean = () => true): Recorder {
  const log: string[] = [];
  const flows: RecordedFlow[] = [];
  const violations: string[] = [];

  const factory: StreamHandlerFactory = {
    create(key, tsMicros): StreamHandler | null {
      if (flows.some((f) => f.key.id === key.id)) violations.push(`${key.id} created twice`);
      log.push(
        `${key.id} create ${key.client.ip}:${key.client.port} > ${key.server.ip}:${key.server.port} ${key.basis}`,
      );
      if (!accept(key)) return null;
      const flow: RecordedFlow = {
        key,
        createdAtMicros: tsMicros,
        bytes: { c2s: [], s2c: [] },
        chunks: [],
        closeReason: null,
        closedAtMicros: null,
        stats: null,
      };
      flows.push(flow);
      const next: Record<Direction, number> = { c2s: 0, s2c: 0 };
      const check = (what: string, direction: Direction, offset: number, length: number): void => {
        if (flow.closeReason !== null) violations.push(`${key.id} ${what} after close`);
        if (offset !== next[direction]) {
          violations.push(`${key.id} ${what} ${direction} at ${offset}, expected ${next[direction]}`);
        }
        if (length <= 0) violations.push(`${key.id} ${what} ${direction} of length ${length}`);
        next[direction] = offset + length;
      };
      return {
        onData(chunk) {
          check('data', chunk.direction, chunk.offset, chunk.bytes.length);
          log.push(
            `${key.id} data ${chunk.direction} ${chunk.offset} ${JSON.stringify(latin1(chunk.bytes))}`,
          );
          flow.chunks.push(chunk.bytes);
          for (const b of chunk.bytes) flow.bytes[chunk.direction].push(b);
        },
        onGap(direction, offset, length, cause) {
          check('gap', direction, offset, length);
          log.push(`${key.id} gap ${direction} ${offset} ${length} ${cause}`);
        },
        onClose(reason, tsMicros, stats) {
          if (flow.closeReason !== null) violations.push(`${key.id} closed twice`);
          log.push(`${key.id} close ${reason}`);
          flow.closeReason = reason;
          flow.closedAtMicros = tsMicros;
          flow.stats = stats;
        },
      };
    },
  };

  function flow(id: string): RecordedFlow {
    const found = flows.find((f) => f.key.id === id);
    if (found === undefined) throw new Error(`no flow ${id}`);
    return found;
  }

  return {
    factory,
    log,
    flows,
    violations,
    flow,
    text: (id, direction) => latin1(Uint8Array.from(flow(id).bytes[direction])),
  };
}
