/**
 * Reads the user name (and, only when asked, the secret) out of an SMTP AUTH exchange (RFC 4954): the initial
 * response and the client's answers to 334 challenges, each base64.
 */

export interface AuthItem {
  /** Base64 text the client sent (initial response or answer to a 334). */
  readonly data: string;
  /** Decoded text of the 334 challenge it answered; null for the initial response. */
  readonly prompt: string | null;
}

export interface AuthCredentials {
  readonly username: string | null;
  readonly secret: string | null;
}

/** Decodes base64 to text (UTF-8); null when the text is not base64. */
export function decodeBase64Text(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === '=') return '';
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) return null;
  return Buffer.from(trimmed, 'base64').toString('utf8');
}

function fieldAfter(text: string, key: string, separator: string): string | null {
  for (const part of text.split(separator)) {
    if (part.startsWith(key)) return part.slice(key.length);
  }
  return null;
}

/** Extracts credentials for the mechanisms that carry a user name in clear (after base64). */
export function extractAuthCredentials(mechanism: string, items: readonly AuthItem[]): AuthCredentials {
  const decoded = items.map((item) => ({ text: decodeBase64Text(item.data), prompt: item.prompt }));
  switch (mechanism.toUpperCase()) {
    case 'PLAIN': {
      const first = decoded.find((d) => d.text !== null && d.text !== '');
      if (first === undefined || first.text === null) return { username: null, secret: null };
      const fields = first.text.split('\0');
      if (fields.length < 3) return { username: null, secret: null };
      return { username: fields[1] ?? null, secret: fields[2] ?? null };
    }
    case 'LOGIN': {
      let username: string | null = null;
      let secret: string | null = null;
      decoded.forEach((d, index) => {
        if (d.text === null) return;
        const prompt = (d.prompt ?? '').toLowerCase();
        if (prompt.includes('pass')) secret = d.text;
        else if (prompt.includes('user') || (index === 0 && username === null)) username = d.text;
        else if (secret === null) secret = d.text;
      });
      return { username, secret };
    }
    case 'XOAUTH2': {
      const first = decoded[0]?.text ?? null;
      if (first === null) return { username: null, secret: null };
      return { username: fieldAfter(first, 'user=', '\x01'), secret: fieldAfter(first, 'auth=', '\x01') };
    }
    case 'OAUTHBEARER': {
      const first = decoded[0]?.text ?? null;
      if (first === null) return { username: null, secret: null };
      const gs2 = first.split('\x01')[0] ?? '';
      return { username: fieldAfter(gs2, 'a=', ','), secret: fieldAfter(first, 'auth=', '\x01') };
    }
    case 'CRAM-MD5': {
      const first = decoded.find((d) => d.prompt !== null)?.text ?? null;
      if (first === null) return { username: null, secret: null };
      const space = first.lastIndexOf(' ');
      return space < 0
        ? { username: null, secret: null }
        : { username: first.slice(0, space), secret: first.slice(space + 1) };
    }
    case 'DIGEST-MD5': {
      for (const d of decoded) {
        const m = d.text === null ? null : /(?:^|,)\s*username="([^"]*)"/.exec(d.text);
        if (m !== null && m[1] !== undefined) return { username: m[1], secret: null };
      }
      return { username: null, secret: null };
    }
    case 'NTLM': {
      for (const item of items) {
        const username = ntlmUserName(item.data);
        if (username !== null) return { username, secret: null };
      }
      return { username: null, secret: null };
    }
    default:
      return { username: null, secret: null };
  }
}

const NTLM_SIGNATURE = 'NTLMSSP\0';
const NTLM_AUTHENTICATE = 3;
const NTLM_NEGOTIATE_UNICODE = 0x1;

/**
 * The user name of an NTLM AUTHENTICATE message (MS-NLMP 2.2.1.3): the UserName field, a (length, capacity,
 * offset) triple into the message, UTF-16LE when the Unicode flag is set, else 8-bit. The domain is left out,
 * as Wireshark and Arkime show the user alone. Null for any other message.
 */
function ntlmUserName(base64: string): string | null {
  const trimmed = base64.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) return null;
  const msg = Buffer.from(trimmed, 'base64');
  if (msg.length < 64 || msg.toString('latin1', 0, 8) !== NTLM_SIGNATURE) return null;
  if (msg.readUInt32LE(8) !== NTLM_AUTHENTICATE) return null;
  const unicode = (msg.readUInt32LE(60) & NTLM_NEGOTIATE_UNICODE) !== 0;
  const field = (at: number): string | null => {
    const length = msg.readUInt16LE(at);
    const offset = msg.readUInt32LE(at + 4);
    if (length === 0) return '';
    if (offset + length > msg.length) return null;
    return msg.toString(unicode ? 'utf16le' : 'latin1', offset, offset + length);
  };
  const user = field(36);
  return user === null || user === '' ? null : user;
}

/** Mechanisms whose exchange exposes a password or a bearer token to anyone who reads the traffic. */
export function exposesSecret(mechanism: string): boolean {
  const m = mechanism.toUpperCase();
  return m === 'PLAIN' || m === 'LOGIN' || m === 'XOAUTH2' || m === 'OAUTHBEARER';
}
