import { describe, expect, it } from 'vitest';
import { decryptableSuite } from '../../src/tls/cipher-suites.js';
import { hkdfExpandLabel, nextTrafficSecret, trafficKeys } from '../../src/tls/hkdf.js';
import { prf } from '../../src/tls/prf.js';
import { createRecordOpener } from '../../src/tls/record-cipher.js';
import { hex, RFC8448 } from './rfc8448.js';

describe('TLS 1.2 PRF (published P_SHA256 / P_SHA384 vectors)', () => {
  it('P_SHA256: secret 9bbe436b..., "test label", 100 bytes', () => {
    const out = prf(
      'sha256',
      hex('9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35'),
      'test label',
      hex('a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c'),
      100,
    );
    expect(Buffer.from(out).toString('hex')).toBe(
      'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af' +
        '0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701' +
        '87347b66',
    );
  });

  it('P_SHA384: secret b80b733d..., "test label", 148 bytes', () => {
    const out = prf(
      'sha384',
      hex('b8 0b 73 3d 6c ee fc dc 71 56 6e a4 8e 55 67 df'),
      'test label',
      hex('cd 66 5c f6 a8 44 7d d6 ff 8b 27 55 5e db 74 65'),
      148,
    );
    expect(Buffer.from(out).toString('hex')).toBe(
      Buffer.from(
        hex(`7b 0c 18 e9 ce d4 10 ed 18 04 f2 cf a3 4a 33 6a 1c 14 df fb 49 00 bb 5f d7 94 21 07 e8 1c 83 cd
          e9 ca 0f aa 60 be 9f e3 4f 82 b1 23 3c 91 46 a0 e5 34 cb 40 0f ed 27 00 88 4f 9d c2 36 f8 0e dd
          8b fa 96 11 44 c9 e8 d7 92 ec a7 22 a7 b3 2f c3 d4 16 d4 73 eb c2 c5 fd 4a bf da d0 5d 91 84 25
          9b 5b f8 cd 4d 90 fa 0d 31 e2 de c4 79 e4 f1 a2 60 66 f2 ee a9 a6 92 36 a3 e5 26 55 c9 e9 ae e6
          91 c8 f3 a2 68 54 30 8d 5e aa 3b e8 5e 09 90 70 3d 73 e5 6f`),
      ).toString('hex'),
    );
  });
});

describe('TLS 1.3 key schedule against RFC 8448 section 3 (simple 1-RTT handshake)', () => {
  const suite = decryptableSuite(0x1301);

  it('HKDF-Expand-Label gives the RFC traffic keys and IVs', () => {
    const server = trafficKeys('sha256', RFC8448.serverHandshakeSecret, 16);
    expect(server.key).toEqual(RFC8448.serverHandshakeKey);
    expect(server.iv).toEqual(RFC8448.serverHandshakeIv);
    const client = trafficKeys('sha256', RFC8448.clientHandshakeSecret, 16);
    expect(client.key).toEqual(RFC8448.clientHandshakeKey);
    expect(client.iv).toEqual(RFC8448.clientHandshakeIv);
    const serverApp = trafficKeys('sha256', RFC8448.serverAppSecret, 16);
    expect(serverApp.key).toEqual(RFC8448.serverAppKey);
    expect(serverApp.iv).toEqual(RFC8448.serverAppIv);
    // The "finished" label of the same section, through the same function.
    expect(
      hkdfExpandLabel('sha256', RFC8448.serverHandshakeSecret, 'finished', new Uint8Array(0), 32),
    ).toEqual(RFC8448.serverFinishedKey);
  });

  it("decrypts the server's encrypted handshake record: EncryptedExtensions first, Finished last", () => {
    expect(suite).not.toBeNull();
    const { key, iv } = trafficKeys('sha256', RFC8448.serverHandshakeSecret, 16);
    const opener = createRecordOpener(suite!.protection, { key, iv, macKey: new Uint8Array(0) }, false);
    const record = RFC8448.serverFlightRecord;
    const result = opener.open(record[0]!, 0x0303, record.subarray(5));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.type).toBe(22);
    // EncryptedExtensions (type 8, 0x24 bytes) as printed in the RFC.
    expect(result.plaintext.subarray(0, 6)).toEqual(hex('08 00 00 24 00 22'));
    // The record ends with the server Finished (type 20, 32 bytes of verify_data).
    const finished = result.plaintext.subarray(result.plaintext.length - 36);
    expect(finished.subarray(0, 4)).toEqual(hex('14 00 00 20'));
    expect(finished.subarray(4, 8)).toEqual(hex('9b 9b 14 1d'));
  });

  it('decrypts both application data records: 50 bytes 00..31', () => {
    const payload = Uint8Array.from({ length: 50 }, (_, i) => i);
    for (const [secret, record] of [
      [RFC8448.clientAppSecret, RFC8448.clientAppRecord],
      [RFC8448.serverAppSecret, RFC8448.serverAppRecord],
    ] as const) {
      const { key, iv } = trafficKeys('sha256', secret, 16);
      const opener = createRecordOpener(suite!.protection, { key, iv, macKey: new Uint8Array(0) }, false);
      if (record === RFC8448.serverAppRecord) {
        // The server's first record under its application keys is the NewSessionTicket (sequence 0).
        const ticket = opener.open(23, 0x0303, RFC8448.newSessionTicketRecord.subarray(5));
        expect(ticket.ok && ticket.type).toBe(22);
        expect(ticket.ok && ticket.plaintext[0]).toBe(4);
      }
      const result = opener.open(23, 0x0303, record.subarray(5));
      expect(result.ok && result.type).toBe(23);
      expect(result.ok && Uint8Array.from(result.plaintext)).toEqual(payload);
    }
  });

  it('a flipped ciphertext bit or the wrong sequence number fails to authenticate', () => {
    const { key, iv } = trafficKeys('sha256', RFC8448.clientAppSecret, 16);
    const record = RFC8448.clientAppRecord.slice();
    record[10] = record[10]! ^ 1;
    const opener = createRecordOpener(suite!.protection, { key, iv, macKey: new Uint8Array(0) }, false);
    expect(opener.open(23, 0x0303, record.subarray(5))).toEqual({ ok: false, reason: 'auth' });
    const second = createRecordOpener(suite!.protection, { key, iv, macKey: new Uint8Array(0) }, false);
    expect(second.open(23, 0x0303, RFC8448.clientAppRecord.subarray(5)).ok).toBe(true);
    expect(second.open(23, 0x0303, RFC8448.clientAppRecord.subarray(5))).toEqual({
      ok: false,
      reason: 'auth',
    });
  });

  it('KeyUpdate: the next secret is HKDF-Expand-Label(secret, "traffic upd", "", Hash.length)', () => {
    const next = nextTrafficSecret('sha256', RFC8448.clientAppSecret);
    expect(next).toEqual(
      hkdfExpandLabel('sha256', RFC8448.clientAppSecret, 'traffic upd', new Uint8Array(0), 32),
    );
    expect(next).not.toEqual(RFC8448.clientAppSecret);
    expect(next.length).toBe(32);
  });
});
