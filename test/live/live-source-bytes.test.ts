/**
 * What a live PacketView hands to consumers: a plain Uint8Array over the shared capture buffer, so that the
 * usual way to keep bytes (`subarray(...).slice()`) makes a copy. On a Node Buffer, `slice()` is a view, and a
 * kept "copy" was overwritten by the next packet (message headers went missing from live reports).
 */

import { connect, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LivePacketSource, openLiveSource } from '../../src/capture/live-source.js';
import { liveSkipReason } from './live-env.js';

const skip = liveSkipReason !== null;
let server: Server;
let port = 0;

beforeAll(async () => {
  if (skip) return;
  server = createServer((socket) => {
    socket.on('data', () => {});
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  port = typeof address === 'object' && address !== null ? address.port : 0;
});
afterAll(async () => {
  if (!skip) await new Promise((resolve) => server.close(resolve));
});

describe('live-source packet bytes', () => {
  it.skipIf(skip)(
    `gives consumers bytes whose slice() is a copy that later packets cannot change${skip ? ` [${liveSkipReason}]` : ''}`,
    async () => {
      const source: LivePacketSource = await openLiveSource({
        device: 'lo',
        filter: `tcp port ${port}`,
        snaplen: 65535,
        bufferMb: 4,
        count: null,
        durationMs: 5000,
        promiscuous: true,
      });
      const kept: { copy: Uint8Array; original: string }[] = [];
      const prototypes = new Set<object | null>();
      const done = source.forEach((view) => {
        prototypes.add(Object.getPrototypeOf(view.buffer));
        const bytes = view.buffer.subarray(view.offset, view.offset + view.capturedLength);
        kept.push({ copy: bytes.slice(), original: Buffer.from(bytes).toString('hex') });
      });
      const payload = 'A'.repeat(300);
      await new Promise<void>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(payload);
          socket.end('B'.repeat(40));
        });
        socket.on('error', reject);
        socket.on('data', () => {});
        socket.on('close', () => resolve());
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await source.close();
      await done;
      expect(prototypes.size).toBe(1);
      expect(prototypes.has(Uint8Array.prototype)).toBe(true);
      // SYN, SYN-ACK, ACK, data, FIN... at least six packets; every kept copy still holds what it held.
      expect(kept.length).toBeGreaterThanOrEqual(6);
      for (const k of kept) expect(Buffer.from(k.copy).toString('hex')).toBe(k.original);
      expect(kept.some((k) => Buffer.from(k.copy).includes(payload))).toBe(true);
    },
  );
});
