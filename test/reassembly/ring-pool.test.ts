import { describe, expect, it } from 'vitest';
import { createAssembler } from '../../src/reassembly/assembler.js';
import { POOL_BYTES, RingPool } from '../../src/reassembly/ring-pool.js';
import { Conversation, type Peer } from '../helpers/segments.js';
import { createRecorder } from './recorder.js';

const server: Peer = { ip: '198.51.100.25', port: 25 };

describe('ring pool', () => {
  it('hands back a ring of the size asked for, and keeps at most POOL_BYTES of rings whatever their sizes', () => {
    const pool = new RingPool();
    const fresh = pool.take(1024);
    expect(fresh.length).toBe(1024);
    pool.give(fresh);
    expect(pool.bytes).toBe(1024);
    expect(pool.take(2048)).not.toBe(fresh);
    expect(pool.take(1024)).toBe(fresh);
    expect(pool.bytes).toBe(0);
    expect(pool.take(1024)).not.toBe(fresh);
    // Large rings fill half the budget; small ones the rest, and five more of each are dropped.
    const large = Array.from({ length: POOL_BYTES / 2 / 16384 + 5 }, () => new Uint8Array(16384));
    const small = Array.from({ length: POOL_BYTES / 2 / 1024 + 5 }, () => new Uint8Array(1024));
    for (let i = 0; i < POOL_BYTES / 2 / 16384; i++) pool.give(large[i]!);
    for (const ring of small) pool.give(ring);
    for (const ring of large.slice(POOL_BYTES / 2 / 16384)) pool.give(ring);
    expect(pool.bytes).toBe(POOL_BYTES);
    const backLarge = new Set(large.map(() => pool.take(16384)));
    const backSmall = new Set(small.map(() => pool.take(1024)));
    expect(large.filter((ring) => backLarge.has(ring))).toHaveLength(POOL_BYTES / 2 / 16384);
    expect(small.filter((ring) => backSmall.has(ring))).toHaveLength(POOL_BYTES / 2 / 1024);
    expect(pool.bytes).toBe(0);
  });

  it("never compares a retransmission with an earlier connection's bytes left in a reused ring", () => {
    const rec = createRecorder();
    const asm = createAssembler(rec.factory);
    // The first connection fills its rings with one text and closes: its rings go to the pool.
    const first = new Conversation({ ip: '192.0.2.10', port: 40000 }, server);
    for (const s of first.handshake()) asm.push(s);
    asm.push(first.data('c2s', 'A'.repeat(600)));
    asm.push(first.data('s2c', 'B'.repeat(600)));
    asm.push(first.fin('c2s'));
    asm.push(first.fin('s2c'));
    asm.push(first.ack('c2s'));
    expect(rec.flow('C000001').closeReason).toBe('fin');
    // The second connection takes them (the ring's first 100 bytes still hold the first connection's 'A's). Its
    // first 100 bytes never come (the server acknowledges past them: a gap, `midstream` at a direction's start),
    // the next 300 are delivered.
    const second = new Conversation({ ip: '192.0.2.11', port: 40001 }, server);
    for (const s of second.handshake()) asm.push(s);
    asm.push(second.data('c2s', 'C'.repeat(300), { offset: 100 }));
    asm.push(second.ack('s2c', { ack: second.seqOf('c2s', 400) }));
    expect(rec.log.filter((line) => line.startsWith('C000002') && line.includes('c2s'))).toEqual([
      'C000002 gap c2s 0 100 midstream',
      `C000002 data c2s 100 "${'C'.repeat(300)}"`,
    ]);
    // Late copies of the missing bytes (unlike the stale ones there) and of the delivered ones: retransmissions
    // whose bytes differ from nothing this connection delivered.
    asm.push(second.data('c2s', 'Z'.repeat(100), { offset: 0 }));
    asm.push(second.data('c2s', 'C'.repeat(300), { offset: 100 }));
    expect(asm.stats()).toMatchObject({ overlapsDiffering: 0, retransmissions: 2 });
    asm.push(second.data('c2s', 'E'.repeat(50), { offset: 150 }));
    expect(asm.stats()).toMatchObject({ overlapsDiffering: 1 });
    expect(rec.violations).toEqual([]);
  });
});
