/**
 * A proxy exchange before the SMTP greeting: SOCKS4/4a (a client request starting with 0x04), SOCKS5 (0x05;
 * no-authentication or username/password, RFC 1928 and RFC 1929) or HTTP CONNECT (`CONNECT host:port HTTP/1.x`).
 * Each side's part is read to its end (bounded by MAX_PREAMBLE_BYTES), then the bytes after it are SMTP. What is
 * learnt: the protocol, the target `host:port`, and whether the proxy accepted.
 */

export type ProxyProtocol = 'socks4' | 'socks5' | 'http-connect';

/** Bytes buffered per direction while a preamble is read; a longer one is given up (not a proxy). */
export const MAX_PREAMBLE_BYTES = 4096;

const CONNECT = 'CONNECT ';

/** What the first client bytes say: a proxy protocol, not one, or too few bytes to tell. */
export function sniffProxy(bytes: Uint8Array): ProxyProtocol | 'no' | 'more' {
  const first = bytes[0];
  if (first === 0x04) return bytes.length < 2 ? 'more' : bytes[1] === 0x01 ? 'socks4' : 'no';
  if (first === 0x05) return bytes.length < 2 ? 'more' : (bytes[1] as number) >= 1 ? 'socks5' : 'no';
  const n = Math.min(bytes.length, CONNECT.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== CONNECT.charCodeAt(i)) return 'no';
  return n < CONNECT.length ? 'more' : 'http-connect';
}

function latin1(bytes: readonly number[], from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) text += String.fromCharCode(bytes[i] as number);
  return text;
}

/** Index just past the first CRLFCRLF, or -1. */
function headerEnd(bytes: readonly number[]): number {
  for (let i = 3; i < bytes.length; i++)
    if (bytes[i] === 10 && bytes[i - 1] === 13 && bytes[i - 2] === 10 && bytes[i - 3] === 13) return i + 1;
  return -1;
}

/** SOCKS5 address at `at` (type byte first): its text and the index past the port, or null while incomplete. */
function socks5Address(b: readonly number[], at: number): { target: string; end: number } | null {
  const type = b[at];
  let host: string;
  let p: number;
  if (type === 1) {
    if (b.length < at + 7) return null;
    host = `${b[at + 1]}.${b[at + 2]}.${b[at + 3]}.${b[at + 4]}`;
    p = at + 5;
  } else if (type === 3) {
    const length = b[at + 1];
    if (length === undefined || b.length < at + 2 + length + 2) return null;
    host = latin1(b, at + 2, at + 2 + length);
    p = at + 2 + length;
  } else if (type === 4) {
    if (b.length < at + 19) return null;
    const groups: string[] = [];
    for (let i = 0; i < 8; i++)
      groups.push((((b[at + 1 + 2 * i] as number) << 8) | (b[at + 2 + 2 * i] as number)).toString(16));
    host = `[${groups.join(':')}]`;
    p = at + 17;
  } else return { target: '', end: -1 };
  return { target: `${host}:${((b[p] as number) << 8) | (b[p + 1] as number)}`, end: p + 2 };
}

/**
 * Reads one connection's proxy preamble. `client(bytes)` and `server(bytes)` return how many bytes belong to the
 * preamble (less than given once that side's part ended); -1 when the bytes do not follow the protocol, and then
 * `held(side)` gives back the bytes that side's earlier calls took, so the caller can read them as SMTP (the
 * answer must not depend on where the chunks were cut).
 */
export class ProxyPreamble {
  target: string | null = null;
  /** null until the proxy's answer is read. */
  accepted: boolean | null = null;
  clientDone = false;
  serverDone = false;
  private readonly c: number[] = [];
  private readonly s: number[] = [];
  /** SOCKS5: the method the proxy chose (0 none, 2 username/password), -1 until known. */
  private method = -1;

  constructor(readonly protocol: ProxyProtocol) {}

  client(bytes: Uint8Array): number {
    const before = this.c.length;
    for (const b of bytes) this.c.push(b);
    const end = this.clientEnd();
    if (end === -1 || (end === 0 && this.c.length > MAX_PREAMBLE_BYTES)) {
      this.c.length = before;
      return -1;
    }
    if (end === 0) return bytes.length;
    this.clientDone = true;
    return end - before;
  }

  server(bytes: Uint8Array): number {
    const before = this.s.length;
    for (const b of bytes) this.s.push(b);
    const end = this.serverEnd();
    if (end === -1 || (end === 0 && this.s.length > MAX_PREAMBLE_BYTES)) {
      this.s.length = before;
      return -1;
    }
    if (end === 0) return bytes.length;
    this.serverDone = true;
    return end - before;
  }

  /** The bytes `side`'s calls took while its part was unfinished (all of them once it proved not a preamble). */
  held(side: 'client' | 'server'): Uint8Array {
    return Uint8Array.from(side === 'client' ? this.c : this.s);
  }

  /** Where the client's part ends (0: not yet, -1: not this protocol). */
  private clientEnd(): number {
    const b = this.c;
    switch (this.protocol) {
      case 'socks4': {
        if (b.length < 9) return 0;
        const user = b.indexOf(0, 8);
        if (user < 0) return 0;
        const port = ((b[2] as number) << 8) | (b[3] as number);
        if (b[4] === 0 && b[5] === 0 && b[6] === 0 && b[7] !== 0) {
          const host = b.indexOf(0, user + 1); // SOCKS4a: the host name follows the user id
          if (host < 0) return 0;
          this.target = `${latin1(b, user + 1, host)}:${port}`;
          return host + 1;
        }
        this.target = `${b[4]}.${b[5]}.${b[6]}.${b[7]}:${port}`;
        return user + 1;
      }
      case 'socks5': {
        const methods = b[1] as number;
        let at = 2 + methods;
        if (b.length < at) return 0;
        if (this.method === 2) {
          // Username/password (RFC 1929): version, user length, user, password length, password.
          const ulen = b[at + 1];
          if (ulen === undefined) return 0;
          const plen = b[at + 2 + ulen];
          if (plen === undefined) return 0;
          at += 3 + ulen + plen;
        } else if (this.method === -1) {
          return b.length > at ? this.waitForMethod(at) : 0;
        }
        if (b.length < at + 4) return 0;
        if (b[at] !== 5) return -1;
        const address = socks5Address(b, at + 3);
        if (address === null) return 0;
        if (address.end < 0) return -1;
        this.target = address.target;
        return address.end;
      }
      case 'http-connect': {
        const end = headerEnd(b);
        if (end < 0) return 0;
        const line = latin1(b, 0, b.indexOf(13));
        this.target = line.split(' ')[1] ?? '';
        return end;
      }
    }
  }

  /** SOCKS5: client bytes after the greeting before the proxy chose a method: assume no authentication. */
  private waitForMethod(at: number): number {
    const b = this.c;
    if (b[at] === 5) {
      this.method = 0;
      return this.clientEnd();
    }
    if (b[at] === 1) {
      this.method = 2;
      return this.clientEnd();
    }
    return -1;
  }

  /** Where the proxy's part ends (0: not yet, -1: not this protocol). */
  private serverEnd(): number {
    const b = this.s;
    switch (this.protocol) {
      case 'socks4':
        if (b.length < 8) return 0;
        if (b[0] !== 0) return -1;
        this.accepted = b[1] === 0x5a;
        return 8;
      case 'socks5': {
        if (b.length < 2) return 0;
        if (b[0] !== 5) return -1;
        if (this.method === -1) this.method = b[1] as number;
        let at = 2;
        if (b[1] === 2) {
          if (b.length < 4) return 0;
          if (b[3] !== 0) {
            this.accepted = false;
            return 4;
          }
          at = 4;
        } else if (b[1] !== 0) {
          this.accepted = false;
          return 2;
        }
        if (b.length < at + 4) return 0;
        const address = socks5Address(b, at + 3);
        if (address === null) return 0;
        if (address.end < 0) return -1;
        this.accepted = b[at + 1] === 0;
        return address.end;
      }
      case 'http-connect': {
        const end = headerEnd(b);
        if (end < 0) return 0;
        const status = latin1(b, 0, b.indexOf(13)).split(' ')[1] ?? '';
        this.accepted = status.length === 3 && status[0] === '2';
        return end;
      }
    }
  }
}
