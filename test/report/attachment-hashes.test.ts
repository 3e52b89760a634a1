import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PostalMime from 'postal-mime';
import { describe, expect, it } from 'vitest';
import { createAttachmentHasher, hashParts } from '../../src/report/attachment-hashes.js';
import { runMain } from '../helpers/run-main.js';

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const enc = new TextEncoder();

// A file of 3000 bytes that base64 spreads over many lines, and a quoted-printable text part.
const file = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7 + 3) & 0xff);
const b64 = Buffer.from(file).toString('base64').replace(/.{76}/g, '$&\r\n');
const message = [
  'From: a@example.org',
  'To: b@example.net',
  'Subject: files',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="XX"',
  '',
  '--XX',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'caf=C3=A9 =',
  'ok',
  '--XX',
  'Content-Type: application/octet-stream; name="data.bin"',
  'Content-Disposition: attachment; filename="data.bin"',
  'Content-Transfer-Encoding: base64',
  '',
  b64,
  '--XX--',
  '',
].join('\r\n');

describe('attachment hashes', () => {
  it('hashes each part after its transfer encoding', () => {
    const hashes = hashParts(enc.encode(message), true);
    expect(hashes).toEqual([
      { complete: true, sha256: sha('café ok') },
      { complete: true, sha256: sha(file) },
    ]);
  });

  it('gives no hash for a part the cut went through, and keeps the parts before it', () => {
    const bytes = enc.encode(message);
    const cut = bytes.subarray(0, bytes.length - 400); // inside the base64 body
    expect(hashParts(cut, false)).toEqual([
      { complete: true, sha256: sha('café ok') },
      { complete: false, sha256: null },
    ]);
  });

  it('as a body listener: keeps the first bytes only and marks a message cut by the limit', () => {
    const hasher = createAttachmentHasher(2000);
    hasher.messageStart('C1', 1, 'DATA');
    const bytes = enc.encode(message);
    for (let i = 0; i < bytes.length; i += 333) hasher.messageBytes('C1', 1, bytes.subarray(i, i + 333));
    hasher.messageEnd('C1', 1, true);
    expect(hasher.take('C1', 1)).toEqual([
      { complete: true, sha256: sha('café ok') },
      { complete: false, sha256: null },
    ]);
    expect(hasher.take('C1', 1)).toBeNull();
  });

  const zeekSmtp = join(
    import.meta.dirname,
    '..',
    '..',
    '..',
    'shared',
    'captures',
    'peer',
    'zeek',
    'smtp.pcap',
  );
  it.skipIf(!existsSync(zeekSmtp))(
    'in the NDJSON: the SHA-256 of the attachment equals that of the same file decoded by postal-mime from the extracted message',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'smtpscope-hash-'));
      const out = join(dir, 'o.ndjson');
      expect((await runMain([zeekSmtp, '--json', out, '--extract', join(dir, 'mail')])).code).toBe(0);
      const docs = readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const att = docs[0].email.attachments;
      expect(att).toHaveLength(1);
      expect(att[0].file.name).toBe('NEWS.txt');
      expect(att[0].hash_complete).toBe(true);
      const eml = readdirSync(join(dir, 'mail')).find(
        (n) => n.startsWith(docs[0].smtp.session_id) && n.endsWith('.eml'),
      );
      const parsed = await PostalMime.parse(readFileSync(join(dir, 'mail', eml ?? '')));
      const news = parsed.attachments.find((a) => a.filename === 'NEWS.txt');
      expect(news).toBeDefined();
      const content = Buffer.from(
        typeof news?.content === 'string'
          ? enc.encode(news.content)
          : new Uint8Array(news?.content ?? new ArrayBuffer(0)),
      );
      // postal-mime gives a text attachment with LF line ends (on the wire, quoted-printable, they are CRLF) and
      // counts the line break before the closing boundary in the file; RFC 2046 makes it part of the boundary, and
      // smtpscope hashes the decoded bytes as sent without it.
      expect(news?.mimeType).toBe('text/plain');
      expect(content.includes('\r\n')).toBe(false);
      const asSent = content.toString('latin1').replace(/\n$/, '').replace(/\n/g, '\r\n');
      expect(att[0].file.size).toBe(asSent.length);
      expect(att[0].file.hash.sha256).toBe(sha(Buffer.from(asSent, 'latin1')));
    },
  );
});
