/**
 * The `proxy-preamble` mode (docs/SMTP.md, "Proxy preambles"): a SOCKS4/5 or HTTP CONNECT exchange before the
 * SMTP greeting is read on both sides (./proxy-preamble.ts parses it), reported once and skipped; bytes that turn
 * out not to be one are read as SMTP from the start.
 */

import type { SmtpDialogue } from './dialogue.js';
import { ProxyPreamble, sniffProxy } from './proxy-preamble.js';

/** The client's part of a proxy exchange (or the first bytes that may start one). */
export function proxyClient(d: SmtpDialogue, bytes: Uint8Array, ts: number): number {
  let proxy = d.proxy;
  if (proxy === null) {
    const before = d.proxySniff ?? new Uint8Array(0);
    const joined = new Uint8Array(before.length + bytes.length);
    joined.set(before);
    joined.set(bytes, before.length);
    const protocol = sniffProxy(joined);
    if (protocol === 'more') {
      d.proxySniff = joined;
      return bytes.length;
    }
    d.proxySniff = null;
    if (protocol === 'no') {
      // Not a proxy after all: the bytes held to tell are read as the dialogue's first bytes.
      d.mode = 'lines';
      if (before.length > 0) d.feed(d.cmdDir, before, 0, ts);
      return 0;
    }
    proxy = new ProxyPreamble(protocol);
    d.proxy = proxy;
    if (before.length > 0) proxy.client(before);
  }
  const n = proxy.client(bytes);
  if (n < 0) {
    // The bytes do not follow the protocol: not a proxy. Everything taken so far is read as SMTP, from the
    // start, whichever chunks it came in.
    d.proxy = null;
    d.mode = 'lines';
    const held = proxy.held('client');
    if (held.length > 0) d.feed(d.cmdDir, held, 0, ts);
    return 0;
  }
  if (proxy.clientDone) {
    // The SMTP dialogue follows the request.
    d.mode = 'lines';
    reportProxy(d, ts);
  }
  return n;
}

export function proxyServer(
  d: SmtpDialogue,
  proxy: ProxyPreamble,
  bytes: Uint8Array,
  offset: number,
  ts: number,
): number {
  if (d.proxyServerOffset < 0) d.proxyServerOffset = offset;
  const n = proxy.server(bytes);
  if (n < 0) {
    // Not the proxy's answer: what was taken of it is read as SMTP replies.
    proxy.serverDone = true;
    const held = proxy.held('server');
    if (held.length > 0) d.feed(d.replyDir, held, d.proxyServerOffset, ts);
  }
  if (proxy.serverDone) reportProxy(d, ts);
  return Math.max(0, n);
}

export function reportProxy(d: SmtpDialogue, ts: number): void {
  const proxy = d.proxy;
  if (proxy === null || d.proxyReported || !proxy.clientDone || !proxy.serverDone) return;
  d.proxyReported = true;
  d.out.proxy(proxy.protocol, proxy.target, proxy.accepted, ts);
}

/** The end of the connection: bytes held to tell whether a proxy exchange starts are read as SMTP; a proxy
 * exchange not yet reported is reported as it stands. */
export function closeProxy(d: SmtpDialogue, ts: number): void {
  if (d.mode === 'proxy-preamble') {
    const sniffed = d.proxySniff;
    d.mode = 'lines';
    d.proxySniff = null;
    if (sniffed !== null) d.feed(d.cmdDir, sniffed, 0, ts);
  }
  const proxy = d.proxy;
  if (proxy !== null && !d.proxyReported) {
    proxy.clientDone = true;
    proxy.serverDone = true;
    reportProxy(d, ts);
  }
}
