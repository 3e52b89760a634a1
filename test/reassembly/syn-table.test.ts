/**
 * The SYN table (src/reassembly/syn-table.ts): connections that only sent SYNs and their answers are kept without
 * a Connection or handler when the factory takes their closes (`closeUnopened`). The oracle is the connection
 * path itself: the same segments fed to an assembler whose factory has no `closeUnopened` (every connection a
 * Connection from its first SYN, as before the table) must give the same closes, in the same order, with the same
 * flow keys, times, reasons and statistics, the same data and gaps, and the same assembler statistics after
 * every step. Only the moment `create` is called differs (later, with the first SYN's time).
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TcpSegment } from '../../src/decode/types.js';
import { createAssembler } from '../../src/reassembly/assembler.js';
import { NONE, SynTable } from '../../src/reassembly/syn-table.js';
import type {
  AssemblerOptions,
  FlowKey,
  FlowStats,
  StreamHandlerFactory,
  UnopenedConnection,
} from '../../src/reassembly/types.js';
import { makeSegment, parseAddress } from '../helpers/segments.js';

interface Logged {
  readonly factory: StreamHandlerFactory;
  readonly log: string[];
  /** Calls of `create`, and of `closeUnopened`. */
  readonly counts: { create: number; unopened: number };
}

function closeLine(flow: FlowKey, createdAt: number, reason: string, ts: number, stats: FlowStats): string {
  return `${JSON.stringify(flow)} created ${createdAt} close ${reason} at ${ts} ${JSON.stringify(stats)}`;
}

/** The word `i` of an address's bytes, as an int32 (the view's `clientWord`/`serverWord`). */
function wordOf(text: string, i: number): number {
  const b = parseAddress(text);
  if (4 * i >= b.length) return 0;
  return (b[4 * i]! << 24) | (b[4 * i + 1]! << 16) | (b[4 * i + 2]! << 8) | b[4 * i + 3]!;
}

/** Checks an unopened connection's fields against its own flow() and stats() (the view reads them in place). */
function viewProblems(c: UnopenedConnection): string[] {
  const flow = c.flow();
  const stats = c.stats();
  const problems: string[] = [];
  const same = (what: string, a: unknown, b: unknown): void => {
    if (a !== b) problems.push(`${flow.id} ${what}: ${String(a)} vs ${String(b)}`);
  };
  same('id', c.id(), flow.id);
  same('basis', flow.basis, 'syn');
  same('ip version', c.ipVersion, flow.client.ip.includes(':') ? 6 : 4);
  for (let i = 0; i < 4; i++) {
    same(`client word ${i}`, c.clientWord(i), wordOf(flow.client.ip, i));
    same(`server word ${i}`, c.serverWord(i), wordOf(flow.server.ip, i));
  }
  same('client port', c.clientPort, flow.client.port);
  same('server port', c.serverPort, flow.server.port);
  same('first', c.firstTsMicros, stats.firstTsMicros);
  same('last', c.lastTsMicros, stats.lastTsMicros);
  same('c2s packets', c.c2sPackets, stats.c2s.packets);
  same('s2c packets', c.s2cPackets, stats.s2c.packets);
  same('syn', c.sawSyn, stats.sawSyn);
  same('syn-ack', c.sawSynAck, stats.sawSynAck);
  same('first close', c.firstClose, stats.firstClose ?? null);
  return problems;
}

/** A factory logging every call; with `defer`, it also takes closes from the SYN table. */
function logged(defer: boolean): Logged {
  const log: string[] = [];
  const counts = { create: 0, unopened: 0 };
  const create: StreamHandlerFactory['create'] = (flow, createdAt) => {
    counts.create++;
    return {
      onData(chunk) {
        log.push(
          `${flow.id} data ${chunk.direction} ${chunk.offset} ${chunk.bytes.length} ${chunk.tsMicros}`,
        );
      },
      onGap(direction, offset, length, cause, ts) {
        log.push(`${flow.id} gap ${direction} ${offset} ${length} ${cause} ${ts}`);
      },
      onClose(reason, ts, stats) {
        log.push(closeLine(flow, createdAt, reason, ts, stats));
      },
    };
  };
  if (!defer) return { factory: { create }, log, counts };
  return {
    factory: {
      create,
      closeUnopened(c, reason, ts) {
        counts.unopened++;
        for (const p of viewProblems(c)) log.push(`view: ${p}`);
        log.push(closeLine(c.flow(), c.firstTsMicros, reason, ts, c.stats()));
      },
    },
    log,
    counts,
  };
}

const SERVER4 = '198.51.100.25';
const SERVER6 = '2001:db8::25';

interface Pair {
  readonly client: string;
  readonly clientPort: number;
  readonly server: string;
  readonly serverPort: number;
}

/** Connections the random runs draw from: IPv4 and IPv6, listed and unlisted server ports, shared addresses. */
const PAIRS: Pair[] = [
  { client: '192.0.2.1', clientPort: 40000, server: SERVER4, serverPort: 25 },
  { client: '192.0.2.1', clientPort: 40001, server: SERVER4, serverPort: 25 },
  { client: '192.0.2.2', clientPort: 40000, server: SERVER4, serverPort: 587 },
  { client: '2001:db8::1', clientPort: 40000, server: SERVER6, serverPort: 25 },
  { client: '2001:db8::2', clientPort: 50000, server: SERVER6, serverPort: 25 },
  { client: '192.0.2.3', clientPort: 40000, server: SERVER4, serverPort: 8080 },
  { client: '203.0.113.9', clientPort: 25, server: SERVER4, serverPort: 25 },
];

const ACTIONS = [
  'syn',
  'syn',
  'syn',
  'syn-new-isn',
  'syn-ack',
  'syn-ack',
  'syn-ack-new-isn',
  'rst-server',
  'rst-ack-server',
  'rst-client',
  'ack-client',
  'ack-server',
  'data-client',
  'data-server',
  'fin-client',
  'fin-server',
  'syn-from-server',
  'syn-ack-from-client',
  'syn-with-payload',
  'rst-with-payload',
  'syn-fin',
  'advance',
  'flush-older',
  'shed',
] as const;
type Action = (typeof ACTIONS)[number];

interface Step {
  readonly pair: number;
  readonly action: Action;
  /** Time added before the step, µs (some steps go back a little). */
  readonly dt: number;
  readonly n: number;
}

const step: fc.Arbitrary<Step> = fc.record({
  pair: fc.nat(PAIRS.length - 1),
  action: fc.constantFrom(...ACTIONS),
  dt: fc.oneof(
    { arbitrary: fc.integer({ min: -200, max: 3_000 }), weight: 8 },
    { arbitrary: fc.integer({ min: 0, max: 120_000 }), weight: 1 },
  ),
  n: fc.nat(0xffffffff),
});

interface Side {
  isn: number;
  sent: number;
}

/** Feeds `steps` to an assembler over `factory`; returns the stats after each step and at the end. */
function run(
  factory: StreamHandlerFactory,
  options: Partial<AssemblerOptions>,
  steps: readonly Step[],
): string[] {
  const asm = createAssembler(factory, options);
  const sides = PAIRS.map(() => ({ c: { isn: 1000, sent: 0 } as Side, s: { isn: 9000, sent: 0 } as Side }));
  const trace: string[] = [];
  let t = 1_000_000;
  for (const s of steps) {
    t = Math.max(0, t + s.dt);
    const pair = PAIRS[s.pair]!;
    const side = sides[s.pair]!;
    const seg = (fromClient: boolean, flags: string, payload?: string, seq?: number): TcpSegment => {
      const me = fromClient ? side.c : side.s;
      const peer = fromClient ? side.s : side.c;
      const segment = makeSegment({
        src: fromClient ? pair.client : pair.server,
        srcPort: fromClient ? pair.clientPort : pair.serverPort,
        dst: fromClient ? pair.server : pair.client,
        dstPort: fromClient ? pair.serverPort : pair.clientPort,
        seq: seq ?? me.isn + 1 + me.sent,
        ack: peer.isn + 1 + peer.sent,
        flags,
        ...(payload === undefined ? {} : { payload }),
        tsMicros: t,
      });
      if (payload !== undefined) me.sent += payload.length;
      return segment;
    };
    const text = 'x'.repeat(1 + (s.n % 5));
    switch (s.action) {
      case 'syn':
        asm.push(seg(true, 'S', undefined, side.c.isn));
        break;
      case 'syn-new-isn':
        side.c = { isn: s.n, sent: 0 };
        asm.push(seg(true, 'S', undefined, side.c.isn));
        break;
      case 'syn-ack':
        asm.push(seg(false, 'SA', undefined, side.s.isn));
        break;
      case 'syn-ack-new-isn':
        side.s = { isn: s.n, sent: 0 };
        asm.push(seg(false, 'SA', undefined, side.s.isn));
        break;
      case 'rst-server':
        asm.push(seg(false, 'R'));
        break;
      case 'rst-ack-server':
        asm.push(seg(false, 'RA'));
        break;
      case 'rst-client':
        asm.push(seg(true, s.n % 2 === 0 ? 'R' : 'RA'));
        break;
      case 'ack-client':
        asm.push(seg(true, 'A'));
        break;
      case 'ack-server':
        asm.push(seg(false, 'A'));
        break;
      case 'data-client':
        asm.push(seg(true, 'PA', text));
        break;
      case 'data-server':
        asm.push(seg(false, 'PA', `220 ${text}\r\n`));
        break;
      case 'fin-client':
        asm.push(seg(true, 'FA'));
        break;
      case 'fin-server':
        asm.push(seg(false, 'FA'));
        break;
      case 'syn-from-server':
        asm.push(seg(false, 'S', undefined, side.s.isn));
        break;
      case 'syn-ack-from-client':
        asm.push(seg(true, 'SA', undefined, side.c.isn));
        break;
      case 'syn-with-payload':
        asm.push(seg(true, 'S', text, side.c.isn));
        break;
      case 'rst-with-payload':
        asm.push(seg(s.n % 2 === 0, 'RA', text));
        break;
      case 'syn-fin':
        asm.push(seg(true, 'SF', undefined, side.c.isn));
        break;
      case 'advance':
        asm.advance(t);
        break;
      case 'flush-older':
        trace.push(`flushed ${asm.flushOlderThan(t - 50_000)}`);
        break;
      case 'shed':
        trace.push(`shed ${asm.shedOldest(1 + (s.n % 2))}`);
        break;
    }
    trace.push(JSON.stringify(asm.stats()));
  }
  asm.flushAll('end-of-capture');
  trace.push(JSON.stringify(asm.stats()));
  return trace;
}

describe('SYN table', () => {
  it('gives the closes, data, gaps and statistics of the connection path for any segments', () => {
    const options = fc.record({
      maxConnections: fc.integer({ min: 1, max: 5 }),
      idleTimeoutMs: fc.constantFrom(5, 40, 600_000),
      closedLingerMs: fc.constantFrom(0, 10, 30_000),
      finLingerMs: fc.constantFrom(1, 50),
      allowMidstream: fc.boolean(),
      // Content detection: connections off the listed ports are tracked too, never in the SYN table.
      detect: fc.boolean(),
    });
    fc.assert(
      fc.property(options, fc.array(step, { minLength: 1, maxLength: 150, size: 'max' }), (opts, steps) => {
        const plain = logged(false);
        const deferred = logged(true);
        const plainTrace = run(plain.factory, opts, steps);
        const deferredTrace = run(deferred.factory, opts, steps);
        expect(deferred.log).toEqual(plain.log);
        expect(deferredTrace).toEqual(plainTrace);
      }),
      { numRuns: 400 },
    );
  });

  it('holds a bare SYN, its retransmission and the SYN+ACK without a handler, and makes one at the ACK', () => {
    const { factory, log, counts } = logged(true);
    const asm = createAssembler(factory);
    const c = { src: '192.0.2.1', srcPort: 40000, dst: SERVER4, dstPort: 25 };
    const s = { src: SERVER4, srcPort: 25, dst: '192.0.2.1', dstPort: 40000 };
    asm.push(makeSegment({ ...c, seq: 100, flags: 'S', tsMicros: 10 }));
    asm.push(makeSegment({ ...c, seq: 100, flags: 'S', tsMicros: 20 }));
    asm.push(makeSegment({ ...s, seq: 500, ack: 101, flags: 'SA', tsMicros: 30 }));
    expect(counts).toEqual({ create: 0, unopened: 0 });
    expect(asm.unopened()).toBe(1);
    expect(asm.stats().openFlows).toBe(1);
    expect(asm.stats().retransmissions).toBe(1);
    asm.push(makeSegment({ ...c, seq: 101, ack: 501, flags: 'A', tsMicros: 40 }));
    expect(counts).toEqual({ create: 1, unopened: 0 });
    expect(asm.unopened()).toBe(0);
    asm.push(makeSegment({ ...s, seq: 501, ack: 101, flags: 'PA', payload: '220 hi\r\n', tsMicros: 50 }));
    asm.flushAll('end-of-capture');
    expect(log[0]).toBe('C000001 data s2c 0 8 50');
    // Created with the first SYN's time; the counts include what the table held.
    const closed = JSON.parse(log[1]!.slice(log[1]!.lastIndexOf(' {') + 1)) as FlowStats;
    expect(log[1]).toContain('created 10 close end-of-capture at 50');
    expect(closed.c2s).toMatchObject({ packets: 3, retransmissions: 1 });
    expect(closed.s2c).toMatchObject({ packets: 2, bytes: 8 });
    expect(closed.sawSyn && closed.sawSynAck).toBe(true);
  });

  it('closes every fate the table can end in without a handler', () => {
    const { factory, log, counts } = logged(true);
    const asm = createAssembler(factory, { maxConnections: 3, idleTimeoutMs: 1, closedLingerMs: 1000 });
    const push = (...segments: TcpSegment[]): void => {
      for (const segment of segments) asm.push(segment);
    };
    const c = (n: number, flags: string, ts: number) =>
      makeSegment({
        src: `192.0.2.${n}`,
        srcPort: 40000,
        dst: SERVER4,
        dstPort: 25,
        seq: n,
        flags,
        tsMicros: ts,
      });
    const s = (n: number, flags: string, ts: number) =>
      makeSegment({
        src: SERVER4,
        srcPort: 25,
        dst: `192.0.2.${n}`,
        dstPort: 40000,
        seq: 7,
        ack: n + 1,
        flags,
        tsMicros: ts,
      });
    // 1: refused (the server's RST); 2: the client's RST after the SYN+ACK; 3: idle after the SYN+ACK.
    push(c(1, 'S', 0), s(1, 'RA', 10), c(2, 'S', 20), s(2, 'SA', 30), c(2, 'R', 40));
    push(c(3, 'S', 50), s(3, 'SA', 60));
    push(c(4, 'S', 2000)); // expires 3 (idle 1 ms)
    // 5, 6, 7: the table is full at 3 (4, 5, 6), so 7 evicts the least recently active bare SYN: 4.
    push(c(5, 'S', 2001), c(6, 'S', 2002), c(7, 'S', 2003));
    asm.flushAll('end-of-capture');
    expect(counts.create).toBe(0);
    const ends = log.map((line) => {
      const flow = JSON.parse(line.slice(0, line.indexOf('} created') + 1)) as FlowKey;
      const stats = JSON.parse(line.slice(line.lastIndexOf(' {') + 1)) as FlowStats;
      const reason = / close (\S+) /.exec(line)?.[1];
      return `${flow.client.ip} ${reason} ${stats.sawSynAck ? 'syn-ack' : '-'} ${stats.firstClose ?? '-'} ${stats.c2s.packets}/${stats.s2c.packets}`;
    });
    expect(ends).toEqual([
      '192.0.2.1 rst - s2c 1/1',
      '192.0.2.2 rst syn-ack c2s 2/1',
      '192.0.2.3 idle-timeout syn-ack - 1/1',
      '192.0.2.4 evicted - - 1/0',
      '192.0.2.5 end-of-capture - - 1/0',
      '192.0.2.6 end-of-capture - - 1/0',
      '192.0.2.7 end-of-capture - - 1/0',
    ]);
    expect(log.some((line) => line.startsWith('view:'))).toBe(false);
    expect(asm.stats()).toMatchObject({ totalFlows: 7, limitHits: { connections: 1 } });
  });

  it('absorbs a late SYN of a connection the table closed by a RST, and takes a new ISN as a new one', () => {
    const { factory, log } = logged(true);
    const asm = createAssembler(factory, { closedLingerMs: 1000 });
    const c = { src: '192.0.2.1', srcPort: 40000, dst: SERVER4, dstPort: 25 };
    const s = { src: SERVER4, srcPort: 25, dst: '192.0.2.1', dstPort: 40000 };
    asm.push(makeSegment({ ...c, seq: 100, flags: 'S', tsMicros: 10 }));
    asm.push(makeSegment({ ...s, seq: 0, ack: 101, flags: 'RA', tsMicros: 20 }));
    asm.push(makeSegment({ ...c, seq: 100, flags: 'S', tsMicros: 30 }));
    expect(asm.stats()).toMatchObject({ openFlows: 0, totalFlows: 1, retransmissions: 1 });
    asm.push(makeSegment({ ...c, seq: 200, flags: 'S', tsMicros: 40 }));
    expect(asm.stats()).toMatchObject({ openFlows: 1, totalFlows: 2 });
    expect(asm.unopened()).toBe(1);
    asm.flushAll('end-of-capture');
    expect(log).toHaveLength(2);
  });

  it('finds entries whose hashes collide, from either side, after removals and growth', () => {
    const table = new SynTable();
    const seg = (i: number, reverse: boolean, v6: boolean): TcpSegment => {
      const client = v6 ? `2001:db8::${(i + 1).toString(16)}` : `10.0.${i >> 8}.${i & 255}`;
      const server = v6 ? SERVER6 : SERVER4;
      return reverse
        ? makeSegment({ src: server, srcPort: 25, dst: client, dstPort: 40000 + i, seq: 0, flags: 'SA' })
        : makeSegment({ src: client, srcPort: 40000 + i, dst: server, dstPort: 25, seq: i, flags: 'S' });
    };
    // Every entry in one chain (the same hash), more of them than the first arrays hold.
    const slots: number[] = [];
    for (let i = 0; i < 600; i++) slots.push(table.insert(seg(i, false, i % 3 === 0), 12345, i + 1, i));
    for (let i = 0; i < 600; i += 2) table.remove(slots[i]!);
    for (let i = 0; i < 600; i++) {
      for (const reverse of [false, true]) {
        const found = table.find(seg(i, reverse, i % 3 === 0), 12345);
        expect(found).toBe(i % 2 === 0 ? NONE : slots[i]);
        if (found !== NONE) expect(table.fromA).toBe(!reverse);
      }
      // Another hash finds nothing, even for the same addresses.
      expect(table.find(seg(i, false, i % 3 === 0), 54321)).toBe(NONE);
    }
    expect(table.count).toBe(300);
    // The activity list holds the survivors, oldest first.
    const order: number[] = [];
    for (let s = table.head; s !== NONE; s = table.next[s]!) order.push(table.serial[s]!);
    expect(order).toEqual(Array.from({ length: 300 }, (_, k) => 2 * k + 2));
    // An IPv4 and an IPv6 entry with the same first word and ports are not confused.
    const t2 = new SynTable();
    const v4 = makeSegment({
      src: '32.1.13.184',
      srcPort: 1,
      dst: '32.1.13.184',
      dstPort: 25,
      seq: 0,
      flags: 'S',
    });
    const v6 = makeSegment({
      src: '2001:db8::',
      srcPort: 1,
      dst: '2001:db8::',
      dstPort: 25,
      seq: 0,
      flags: 'S',
    });
    const a = t2.insert(v4, 1, 1, 0);
    const b = t2.insert(v6, 1, 2, 1);
    expect([t2.find(v4, 1), t2.find(v6, 1)]).toEqual([a, b]);
  });
});
