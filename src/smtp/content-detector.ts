/**
 * Content detection (docs/REASSEMBLY.md, "Content detection"): stands between the assembler and the SMTP
 * handler factory. Connections with a port in the list go straight through, as before. A connection on other
 * ports is held until its first bytes decide:
 *  - SMTP when the client's first line starts with EHLO, HELO or LHLO (any case), sent first or after the
 *    server's `220 ` or `220-` greeting (a 220 alone is also FTP's), the two maybe after a SOCKS4/5 or HTTP
 *    CONNECT preamble (dialogue/proxy-preamble.ts) the proxy accepted: the inner factory's handler is then created and gets the held bytes, in the
 *    order they came, then everything after (the dialogue reads a proxy preamble itself);
 *  - not SMTP otherwise (other first bytes, a gap before the decision, more than MAX_DETECT_BYTES in one
 *    direction undecided): the handler sets `declined` and the assembler drops the connection. Never a
 *    session, never a connection attempt (the attempt gate is behind this factory).
 * A connection that closes before deciding is dropped the same way, without a call to the inner factory.
 */

import type {
  CloseReason,
  Direction,
  FlowKey,
  FlowStats,
  GapCause,
  StreamChunk,
  StreamHandler,
  StreamHandlerFactory,
  UnopenedConnection,
} from '../reassembly/types.js';
import { ProxyPreamble, sniffProxy } from './dialogue/proxy-preamble.js';

/** Bytes held per direction of an undecided connection; past it the connection is declined. */
export const MAX_DETECT_BYTES = 512;

interface HeldChunk {
  readonly direction: Direction;
  readonly offset: number;
  readonly tsMicros: number;
  readonly bytes: Uint8Array;
}

type Verdict = 'smtp' | 'no' | 'more';

function upper(byte: number | undefined): number {
  return byte !== undefined && byte >= 0x61 && byte <= 0x7a ? byte - 0x20 : (byte ?? -1);
}

/** The client's first bytes: an EHLO/HELO/LHLO line, a proxy request, or neither. */
function clientStart(b: Uint8Array): Verdict | 'proxy' {
  const proxy = sniffProxy(b);
  if (proxy === 'more') return 'more';
  return proxy === 'no' ? helloLine(b) : 'proxy';
}

/** Whether the client's SMTP bytes start with an EHLO, HELO or LHLO line. */
function helloLine(b: Uint8Array): Verdict {
  if (b.length === 0) return 'more';
  const verbs = ['EHLO', 'HELO', 'LHLO'];
  let possible = false;
  for (const verb of verbs) {
    let match = true;
    for (let i = 0; i < 4 && i < b.length; i++) if (upper(b[i]) !== verb.charCodeAt(i)) match = false;
    if (match) possible = true;
  }
  if (!possible) return 'no';
  if (b.length < 5) return 'more';
  const after = b[4];
  return after === 0x20 || after === 0x0d || after === 0x0a ? 'smtp' : 'no';
}

/** Server bytes: a `220 ` or `220-` greeting, or not. */
function greeting(b: Uint8Array, from: number): Verdict {
  const want = [0x32, 0x32, 0x30];
  for (let i = 0; i < 3 && from + i < b.length; i++) if (b[from + i] !== want[i]) return 'no';
  if (b.length - from < 4) return 'more';
  const fourth = b[from + 3];
  return fourth === 0x20 || fourth === 0x2d ? 'smtp' : 'no';
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

const EMPTY = new Uint8Array(0);

class DetectingHandler implements StreamHandler {
  declined = false;
  private inner: StreamHandler | null = null;
  private readonly held: HeldChunk[] = [];
  private client: Uint8Array = EMPTY;
  private server: Uint8Array = EMPTY;
  /** The proxy exchange read from the client's first bytes; the server bytes after its answer, when ended. */
  private proxy: ProxyPreamble | null = null;
  private afterProxy: Uint8Array | null = null;
  /** The client's bytes after its part of the proxy exchange. */
  private afterClient: Uint8Array = EMPTY;
  /** The server sent a 220 greeting; the client's first line after it decides. */
  private greeted = false;

  constructor(
    private readonly flow: FlowKey,
    private readonly factory: StreamHandlerFactory,
    private readonly created: number,
  ) {}

  onData(chunk: StreamChunk): void {
    const inner = this.inner;
    if (inner !== null) {
      inner.onData(chunk);
      return;
    }
    if (this.declined) return;
    const bytes = chunk.bytes.slice();
    this.held.push({ direction: chunk.direction, offset: chunk.offset, tsMicros: chunk.tsMicros, bytes });
    const verdict = chunk.direction === 'c2s' ? this.fromClient(bytes) : this.fromServer(bytes);
    if (verdict === 'smtp') this.accept(chunk.tsMicros);
    else if (verdict === 'no') this.decline();
  }

  private fromClient(bytes: Uint8Array): Verdict {
    this.client = concat(this.client, bytes);
    if (this.client.length > MAX_DETECT_BYTES) return 'no';
    const proxy = this.proxy;
    if (proxy !== null) {
      if (proxy.clientDone) this.afterClient = concat(this.afterClient, bytes);
      else {
        const n = proxy.client(bytes);
        if (n < 0) return 'no';
        if (proxy.clientDone) this.afterClient = bytes.subarray(n);
      }
      return this.greeted ? helloLine(this.afterClient) : 'more';
    }
    if (this.greeted) return helloLine(this.client);
    if (this.server.length > 0) return 'more'; // the server spoke first and has not decided yet
    const start = clientStart(this.client);
    if (start !== 'proxy') return start;
    const protocol = sniffProxy(this.client);
    if (protocol === 'more' || protocol === 'no') return 'no';
    const fresh = new ProxyPreamble(protocol);
    this.proxy = fresh;
    const n = fresh.client(this.client);
    if (n < 0) return 'no';
    if (fresh.clientDone) this.afterClient = this.client.subarray(n);
    return 'more';
  }

  private fromServer(bytes: Uint8Array): Verdict {
    if (this.greeted) return 'more'; // waiting for the client's first line
    this.server = concat(this.server, bytes);
    if (this.server.length > MAX_DETECT_BYTES) return 'no';
    const proxy = this.proxy;
    let verdict: Verdict;
    if (proxy === null) verdict = greeting(this.server, 0);
    else if (this.afterProxy !== null) {
      this.afterProxy = concat(this.afterProxy, bytes);
      verdict = greeting(this.afterProxy, 0);
    } else {
      const n = proxy.server(bytes);
      if (n < 0) return 'no';
      if (!proxy.serverDone) return 'more';
      if (proxy.accepted !== true) return 'no';
      this.afterProxy = bytes.subarray(n);
      verdict = greeting(this.afterProxy, 0);
    }
    if (verdict !== 'smtp') return verdict;
    // A 220 greeting is also FTP's: the client's first line after it decides.
    this.greeted = true;
    const client = proxy === null ? this.client : this.afterClient;
    return client.length === 0 ? 'more' : helloLine(client);
  }

  private accept(tsMicros: number): void {
    const inner = this.factory.create(this.flow, Math.min(this.created, tsMicros));
    if (inner === null) {
      this.decline();
      return;
    }
    this.inner = inner;
    for (const c of this.held) inner.onData(c);
    this.release();
  }

  private decline(): void {
    this.declined = true;
    this.release();
  }

  private release(): void {
    this.held.length = 0;
    this.client = EMPTY;
    this.server = EMPTY;
    this.proxy = null;
    this.afterProxy = null;
  }

  onGap(direction: Direction, offset: number, length: number, cause: GapCause, tsMicros: number): void {
    if (this.inner !== null) this.inner.onGap(direction, offset, length, cause, tsMicros);
    else this.decline(); // bytes missing before a decision: nothing to tell SMTP by
  }

  onClose(reason: CloseReason, tsMicros: number, stats: FlowStats): void {
    if (this.inner !== null) this.inner.onClose(reason, tsMicros, stats);
  }
}

/**
 * Wraps `inner` with content detection for connections with no port in `ports` (the assembler tracks them when
 * its `detect` option is on).
 */
export function createContentDetector(
  inner: StreamHandlerFactory,
  ports: ReadonlySet<number>,
): StreamHandlerFactory {
  const create = (flow: FlowKey, tsMicros: number): StreamHandler | null => {
    if (ports.has(flow.server.port) || ports.has(flow.client.port)) return inner.create(flow, tsMicros);
    return new DetectingHandler(flow, inner, tsMicros);
  };
  const closeUnopened = inner.closeUnopened?.bind(inner);
  if (closeUnopened === undefined) return { create };
  return {
    create,
    // A connection closing in the assembler's SYN table: one on the listed ports goes straight through like its
    // handler would have; one on other ports closed before deciding, so it is dropped.
    closeUnopened(connection: UnopenedConnection, reason: CloseReason, tsMicros: number): void {
      if (ports.has(connection.serverPort) || ports.has(connection.clientPort))
        closeUnopened(connection, reason, tsMicros);
    },
  };
}
