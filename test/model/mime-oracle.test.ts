/**
 * The message summary walks the MIME structure itself (model/mime-parts.ts) instead of running postal-mime's
 * full parser, which decodes every body (docs/PERFORMANCE.md, "Message summaries"). postal-mime is the oracle
 * here, as pcap-parser is for the capture reader: on messages that nodemailer composes (plain and HTML
 * alternatives, inline and attached files, encoded names and subjects, every transfer encoding it chooses),
 * both must find the same subject, addresses, Message-ID and attachments, with the same decoded sizes.
 */

import fc from 'fast-check';
import nodemailer from 'nodemailer';
import PostalMime from 'postal-mime';
import { describe, expect, it } from 'vitest';
import { summarizeMessageSync } from '../../src/model/message-summary.js';

const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });

async function compose(mail: Parameters<typeof transport.sendMail>[0]): Promise<Buffer> {
  const info = await transport.sendMail(mail);
  return info.message as Buffer;
}

/** The address inside `Name <address>`, or the text itself. */
const addressOf = (formatted: string): string => /<([^>]*)>\s*$/.exec(formatted)?.[1] ?? formatted;

const words = fc.constantFrom(
  'report',
  'Grüße',
  'invoice',
  'résumé',
  'status',
  'über',
  '報告',
  'notes',
  'a b',
);
const text = fc.array(words, { minLength: 1, maxLength: 12 }).map((w) => w.join(' '));
const attachment = fc.record({
  filename: fc.tuple(words, fc.constantFrom('.pdf', '.txt', '.png', '.bin', '.csv')).map(([w, e]) => w + e),
  size: fc.integer({ min: 0, max: 20_000 }),
  fill: fc.integer({ min: 0, max: 255 }),
  inline: fc.boolean(),
  textual: fc.boolean(),
});
const mail = fc.record({
  subject: text,
  fromName: words,
  to: fc.array(fc.tuple(words, fc.integer({ min: 1, max: 99 })), { minLength: 1, maxLength: 4 }),
  body: fc.option(
    text.map((t) => `${t}\n`.repeat(30)),
    { nil: undefined },
  ),
  html: fc.option(
    text.map((t) => `<p>${t}</p>`),
    { nil: undefined },
  ),
  attachments: fc.array(attachment, { maxLength: 4 }),
});

describe('mime-oracle', () => {
  it('finds what postal-mime finds in messages nodemailer composes', async () => {
    await fc.assert(
      fc.asyncProperty(mail, async (m) => {
        const raw = await compose({
          from: { name: m.fromName, address: 'sender@example.org' },
          to: m.to.map(([name, n]) => ({ name, address: `r${n}@example.net` })),
          subject: m.subject,
          messageId: '<oracle@example.org>',
          ...(m.body === undefined ? {} : { text: m.body }),
          ...(m.html === undefined ? {} : { html: m.html }),
          attachments: m.attachments.map((a, i) => ({
            filename: a.filename,
            content: a.textual
              ? 'line of text\n'.repeat(Math.ceil(a.size / 13))
              : Buffer.alloc(a.size, a.fill),
            ...(a.inline ? { cid: `part${i}@example.org` } : {}),
          })),
        });
        const ours = summarizeMessageSync(new Uint8Array(raw), false);
        const theirs = await PostalMime.parse(raw);
        expect(ours.subject).toBe(theirs.subject ?? null);
        expect(ours.messageId).toBe(theirs.messageId ?? null);
        expect(addressOf(ours.from ?? '')).toBe(theirs.from?.address);
        expect(ours.to.map(addressOf)).toEqual((theirs.to ?? []).map((a) => a.address));
        const named = ours.parts
          .filter((p) => p.filename !== null)
          .map((p) => `${p.filename} ${p.contentType} ${p.sizeBytes}`);
        const attached = theirs.attachments.map(
          (a) =>
            `${a.filename} ${a.mimeType} ${typeof a.content === 'string' ? a.content.length : a.content.byteLength}`,
        );
        expect(named.sort()).toEqual(attached.sort());
      }),
      { numRuns: 60, seed: 20261201 },
    );
  });
});
