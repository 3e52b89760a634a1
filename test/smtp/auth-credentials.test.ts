import { describe, expect, it } from 'vitest';
import { decodeBase64Text, exposesSecret, extractAuthCredentials } from '../../src/smtp/auth-credentials.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describe('auth-credentials', () => {
  it('takes the authentication identity of PLAIN, not the authorisation identity', () => {
    expect(extractAuthCredentials('PLAIN', [{ data: b64('admin\0alice\0pw'), prompt: null }])).toEqual({
      username: 'alice',
      secret: 'pw',
    });
  });

  it('reads LOGIN by its prompts, whatever the order', () => {
    expect(
      extractAuthCredentials('LOGIN', [
        { data: b64('alice'), prompt: 'Username:' },
        { data: b64('pw'), prompt: 'Password:' },
      ]),
    ).toEqual({ username: 'alice', secret: 'pw' });
    expect(extractAuthCredentials('login', [{ data: b64('bob'), prompt: null }])).toEqual({
      username: 'bob',
      secret: null,
    });
  });

  it('reads XOAUTH2, OAUTHBEARER and CRAM-MD5 user names', () => {
    expect(
      extractAuthCredentials('XOAUTH2', [{ data: b64('user=a@b\x01auth=Bearer t\x01\x01'), prompt: null }]),
    ).toEqual({
      username: 'a@b',
      secret: 'Bearer t',
    });
    expect(
      extractAuthCredentials('OAUTHBEARER', [
        { data: b64('n,a=u@d,\x01host=h\x01auth=Bearer x\x01\x01'), prompt: null },
      ]),
    ).toEqual({ username: 'u@d', secret: 'Bearer x' });
    expect(
      extractAuthCredentials('CRAM-MD5', [
        { data: b64('tim b913a602c7eda7a495b4e6e7334d3890'), prompt: '<1>' },
      ]),
    ).toEqual({
      username: 'tim',
      secret: 'b913a602c7eda7a495b4e6e7334d3890',
    });
  });

  it('gives nothing for mechanisms without a clear user name or for junk', () => {
    expect(extractAuthCredentials('GSSAPI', [{ data: 'YIIB', prompt: null }])).toEqual({
      username: null,
      secret: null,
    });
    expect(extractAuthCredentials('PLAIN', [{ data: 'not base64!', prompt: null }])).toEqual({
      username: null,
      secret: null,
    });
  });

  it('decodes base64 text and rejects non-base64', () => {
    expect(decodeBase64Text('VXNlcm5hbWU6')).toBe('Username:');
    expect(decodeBase64Text('=')).toBe('');
    expect(decodeBase64Text('a b')).toBeNull();
  });

  it('knows which mechanisms expose a secret', () => {
    expect(['PLAIN', 'login', 'XOAUTH2', 'OAUTHBEARER'].every(exposesSecret)).toBe(true);
    expect(['CRAM-MD5', 'SCRAM-SHA-256', 'GSSAPI', 'NTLM'].some(exposesSecret)).toBe(false);
  });

  it('reads the user name of an NTLM AUTHENTICATE message, in UTF-16 or 8-bit, and nothing from other NTLM messages', () => {
    const authenticate = (user: string, unicode: boolean): string => {
      const enc = (t: string) => Buffer.from(t, unicode ? 'utf16le' : 'latin1');
      const domain = enc('CORP');
      const name = enc(user);
      const msg = Buffer.alloc(72 + domain.length + name.length);
      msg.write('NTLMSSP\0', 0, 'latin1');
      msg.writeUInt32LE(3, 8);
      msg.writeUInt16LE(domain.length, 28);
      msg.writeUInt16LE(domain.length, 30);
      msg.writeUInt32LE(72, 32);
      msg.writeUInt16LE(name.length, 36);
      msg.writeUInt16LE(name.length, 38);
      msg.writeUInt32LE(72 + domain.length, 40);
      msg.writeUInt32LE(unicode ? 0x1 : 0x2, 60);
      domain.copy(msg, 72);
      name.copy(msg, 72 + domain.length);
      return msg.toString('base64');
    };
    const negotiate = Buffer.concat([
      Buffer.from('NTLMSSP\0', 'latin1'),
      Buffer.from([1, 0, 0, 0]),
      Buffer.alloc(56),
    ]).toString('base64');
    expect(
      extractAuthCredentials('NTLM', [
        { data: negotiate, prompt: null },
        { data: authenticate('jörg', true), prompt: 'challenge' },
      ]),
    ).toEqual({ username: 'jörg', secret: null });
    expect(
      extractAuthCredentials('ntlm', [{ data: authenticate('jack', false), prompt: null }]).username,
    ).toBe('jack');
    expect(extractAuthCredentials('NTLM', [{ data: negotiate, prompt: null }]).username).toBeNull();
    // A lying offset past the end of the message gives nothing rather than garbage.
    const broken = Buffer.from(authenticate('jack', true), 'base64');
    broken.writeUInt32LE(9999, 40);
    expect(
      extractAuthCredentials('NTLM', [{ data: broken.toString('base64'), prompt: null }]).username,
    ).toBeNull();
  });
});
