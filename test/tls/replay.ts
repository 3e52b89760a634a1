/**
 * Replays a recorded TLS connection into a decryptor under a chosen chunking and collects what it reports.
 */

import type { Direction } from '../../src/reassembly/types.js';
import { createTlsDecryptorFactory } from '../../src/tls/decryptor.js';
import type { TlsDecryptionStatus, TlsDecryptorOptions, TlsHello, TlsKeyStore } from '../../src/tls/types.js';
import { createRandom } from '../helpers/splits.js';
import type { WireChunk } from './tls-peers.js';

export interface Replayed {
  readonly c2s: Uint8Array;
  readonly s2c: Uint8Array;
  readonly statuses: readonly TlsDecryptionStatus[];
  readonly hellos: readonly TlsHello[];
  readonly gaps: readonly Direction[];
  readonly final: TlsDecryptionStatus;
}

export const FLOW = {
  id: 'test',
  client: { ip: '192.0.2.1', port: 40000 },
  server: { ip: '192.0.2.2', port: 25 },
} as never;

export type ReplayStep =
  | {
      readonly kind: 'data';
      readonly direction: Direction;
      readonly bytes: Uint8Array;
      readonly tsMicros?: number;
    }
  | { readonly kind: 'gap'; readonly direction: Direction; readonly length: number }
  | { readonly kind: 'call'; readonly run: () => void };

export function replay(
  store: TlsKeyStore,
  steps: readonly (WireChunk | ReplayStep)[],
  options: Partial<TlsDecryptorOptions> = {},
): Replayed {
  const c2s: Uint8Array[] = [];
  const s2c: Uint8Array[] = [];
  const statuses: TlsDecryptionStatus[] = [];
  const hellos: TlsHello[] = [];
  const gaps: Direction[] = [];
  const decryptor = createTlsDecryptorFactory(store, options).create(FLOW, {
    onPlaintext(direction, bytes) {
      (direction === 'c2s' ? c2s : s2c).push(bytes.slice());
    },
    onHello(hello) {
      hellos.push(hello);
    },
    onStatus(status) {
      statuses.push(status);
    },
    onPlaintextGap(direction) {
      gaps.push(direction);
    },
  });
  let ts = 1_000_000;
  for (const step of steps) {
    if (!('kind' in step)) {
      ts += 10;
      decryptor.push(step.direction, step.bytes, ts);
    } else if (step.kind === 'data') {
      ts = step.tsMicros ?? ts + 10;
      decryptor.push(step.direction, step.bytes, ts);
    } else if (step.kind === 'gap') {
      ts += 10;
      decryptor.gap(step.direction, step.length, ts);
    } else step.run();
  }
  decryptor.close(ts + 10);
  return {
    c2s: Uint8Array.from(Buffer.concat(c2s)),
    s2c: Uint8Array.from(Buffer.concat(s2c)),
    statuses,
    hellos,
    gaps,
    final: decryptor.status,
  };
}

/** Merges consecutive chunks of the same direction (the stream as a TCP reassembler could deliver it). */
export function mergeRuns(wire: readonly WireChunk[]): WireChunk[] {
  const out: WireChunk[] = [];
  for (const chunk of wire) {
    const last = out[out.length - 1];
    if (last !== undefined && last.direction === chunk.direction) {
      out[out.length - 1] = {
        direction: last.direction,
        bytes: Uint8Array.from(Buffer.concat([last.bytes, chunk.bytes])),
      };
    } else out.push(chunk);
  }
  return out;
}

/** The wire cut once more at global byte offset `at` (0 < at < total). */
export function cutWire(wire: readonly WireChunk[], at: number): WireChunk[] {
  const out: WireChunk[] = [];
  let offset = 0;
  for (const chunk of wire) {
    const end = offset + chunk.bytes.length;
    if (at > offset && at < end) {
      out.push({ direction: chunk.direction, bytes: chunk.bytes.slice(0, at - offset) });
      out.push({ direction: chunk.direction, bytes: chunk.bytes.slice(at - offset) });
    } else out.push(chunk);
    offset = end;
  }
  return out;
}

/** Every chunk cut into pieces of random sizes in [1, max]. */
export function rechunk(wire: readonly WireChunk[], seed: number, max: number): WireChunk[] {
  const random = createRandom(seed);
  const out: WireChunk[] = [];
  for (const chunk of wire) {
    let p = 0;
    while (p < chunk.bytes.length) {
      const n = 1 + Math.floor(random() * max);
      out.push({ direction: chunk.direction, bytes: chunk.bytes.slice(p, p + n) });
      p += n;
    }
  }
  return out;
}

export function totalBytes(wire: readonly WireChunk[]): number {
  return wire.reduce((n, c) => n + c.bytes.length, 0);
}
