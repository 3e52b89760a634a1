import { readFileSync } from 'node:fs';
import { describe, expect, it, test } from 'vitest';
import {
  isDeliveryStatusReport,
  messageIdFromHeaders,
  parseDeliveryStatus,
  parseDsn,
  stripTypePrefix,
} from '../../src/model/dsn.js';
import { summarizeMessage } from '../../src/model/message-summary.js';

const fixture = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`fixtures/${name}`, import.meta.url)));

describe('dsn', () => {
  test.each([
    ['multipart/report; report-type=delivery-status; boundary="x"', true],
    ['Multipart/Report; Report-Type="delivery-status"', true],
    ['multipart/report; boundary="x"; report-type=global-delivery-status', true],
    ['multipart/report; report-type=disposition-notification', false],
    ['multipart/report; report-type=feedback-report', false],
    ['multipart/mixed; report-type=delivery-status', false],
    ['text/plain', false],
    [null, false],
  ])('knows whether "%s" is a delivery status report', (contentType, expected) => {
    expect(isDeliveryStatusReport(contentType)).toBe(expected);
  });

  test.each([
    ['rfc822; bob@example.net', 'bob@example.net'],
    ['rfc822;bob@example.net', 'bob@example.net'],
    ['dns; mx.example.net', 'mx.example.net'],
    ['smtp; 550 5.1.1 <bob@example.net>: User unknown', '550 5.1.1 <bob@example.net>: User unknown'],
    ['X-Postfix; delivery temporarily suspended', 'delivery temporarily suspended'],
    ['550 5.1.1 no type given', '550 5.1.1 no type given'],
  ])('strips the type from "%s"', (value, expected) => {
    expect(stripTypePrefix(value)).toBe(expected);
  });

  it('reads per-message and per-recipient fields, joining continuation lines', () => {
    const report = parseDeliveryStatus(
      [
        'Reporting-MTA: dns; mail.example.org',
        'Original-Envelope-Id: 0123456789abcdef',
        'Arrival-Date: Mon,  1 Jan 2024 10:00:01 +0000 (UTC)',
        '',
        'Final-Recipient: rfc822; <bob@example.net>',
        'Original-Recipient: rfc822;Bob@Example.NET',
        'Action: Failed',
        'Status: 5.0.0 (permanent failure)',
        'Remote-MTA: dns; mx.example.net',
        'Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: Recipient address',
        '    rejected: User unknown',
        '\tin local recipient table',
        '',
      ].join('\r\n'),
    );
    expect(report).toEqual({
      reportingMta: 'mail.example.org',
      arrivalDate: 'Mon,  1 Jan 2024 10:00:01 +0000 (UTC)',
      originalEnvelopeId: '0123456789abcdef',
      recipients: [
        {
          finalRecipient: 'bob@example.net',
          originalRecipient: 'Bob@Example.NET',
          action: 'failed',
          status: '5.0.0',
          diagnosticCode:
            '550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown in local recipient table',
          remoteMta: 'mx.example.net',
        },
      ],
    });
  });

  it('starts a new recipient when a Final-Recipient repeats without a blank line', () => {
    const report = parseDeliveryStatus(
      'Reporting-MTA: dns; a.example\n\nFinal-Recipient: rfc822; x@b.example\nAction: failed\nStatus: 5.1.1\nFinal-Recipient: rfc822; y@b.example\nAction: delayed\nStatus: 4.4.1\n',
    );
    expect(report.recipients.map((r) => [r.finalRecipient, r.action, r.status])).toEqual([
      ['x@b.example', 'failed', '5.1.1'],
      ['y@b.example', 'delayed', '4.4.1'],
    ]);
  });

  it('reads a report that has no per-message group', () => {
    const report = parseDeliveryStatus(
      'Final-Recipient: rfc822; x@b.example\nAction: failed\nStatus: 5.2.2\n',
    );
    expect(report.reportingMta).toBeNull();
    expect(report.recipients).toHaveLength(1);
    expect(report.recipients[0]?.status).toBe('5.2.2');
  });

  it('ignores garbage lines and returns empty fields for empty text', () => {
    expect(parseDeliveryStatus('')).toEqual({
      reportingMta: null,
      arrivalDate: null,
      originalEnvelopeId: null,
      recipients: [],
    });
    const report = parseDeliveryStatus(
      'no colon here\n  stray continuation\nReporting-MTA: dns; m.example\n',
    );
    expect(report.reportingMta).toBe('m.example');
  });

  it('finds a folded Message-ID in a header block and stops at the body', () => {
    expect(messageIdFromHeaders('From: a@b\r\nMessage-ID:\r\n <x@y.example>\r\nSubject: s\r\n\r\nbody')).toBe(
      '<x@y.example>',
    );
    expect(messageIdFromHeaders('From: a@b\n\nMessage-ID: <in-body@y>\n')).toBeNull();
    expect(messageIdFromHeaders('message-id: <lower@y>')).toBe('<lower@y>');
  });

  it('returns null unless the message is a delivery status report with a status part', () => {
    expect(
      parseDsn({
        contentType: 'text/plain',
        deliveryStatus: 'Final-Recipient: rfc822; a@b',
        originalMessage: null,
      }),
    ).toBeNull();
    expect(
      parseDsn({
        contentType: 'multipart/report; report-type=delivery-status',
        deliveryStatus: null,
        originalMessage: null,
      }),
    ).toBeNull();
  });

  it('parses a Postfix bounce end to end', async () => {
    const summary = await summarizeMessage(fixture('postfix-bounce.eml'), false);
    expect(summary.subject).toBe('Undelivered Mail Returned to Sender');
    expect(summary.dsn).toEqual({
      reportingMta: 'mail.example.org',
      arrivalDate: 'Mon,  1 Jan 2024 10:00:01 +0000 (UTC)',
      originalEnvelopeId: null,
      originalMessageId: '<7c1e2f3a-0b4d-4e5f-9a8b-1c2d3e4f5a6b@example.org>',
      recipients: [
        {
          finalRecipient: 'bob@example.net',
          originalRecipient: 'bob@example.net',
          action: 'failed',
          status: '5.1.1',
          diagnosticCode:
            '550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown in local recipient table',
          remoteMta: 'mx.example.net',
        },
        {
          finalRecipient: 'carol@example.net',
          originalRecipient: 'carol@example.net',
          action: 'failed',
          status: '5.2.2',
          diagnosticCode: '552 5.2.2 <carol@example.net>: Recipient address rejected: Mailbox full',
          remoteMta: 'mx.example.net',
        },
      ],
    });
    expect(summary.parts.map((p) => p.contentType)).toEqual([
      'text/plain',
      'message/delivery-status',
      'message/rfc822',
    ]);
  });

  it('parses an Exchange-style report with text/rfc822-headers', async () => {
    const summary = await summarizeMessage(fixture('exchange-ndr.eml'), false);
    expect(summary.dsn).toEqual({
      reportingMta: 'EX01.corp.example.com',
      arrivalDate: 'Mon, 1 Jan 2024 10:00:01 +0000',
      originalEnvelopeId: null,
      originalMessageId: '<CAF1x2y3z4@corp.example.com>',
      recipients: [
        {
          finalRecipient: 'dave@corp.example.com',
          originalRecipient: null,
          action: 'failed',
          status: '5.1.10',
          diagnosticCode:
            '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup',
          remoteMta: null,
        },
      ],
    });
    expect(summary.inReplyTo).toBe('<CAF1x2y3z4@corp.example.com>');
    expect(summary.messageId).toBe('<b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e@corp.example.com>');
  });

  it('reads what it can from a bounce cut inside the delivery status part', async () => {
    const bytes = fixture('postfix-bounce.eml');
    const text = new TextDecoder().decode(bytes);
    const cut = text.indexOf('Final-Recipient: rfc822; carol');
    const summary = await summarizeMessage(
      bytes.subarray(0, cut + 'Final-Recipient: rfc822; carol@'.length),
      true,
    );
    expect(summary.truncated).toBe(true);
    expect(summary.dsn?.reportingMta).toBe('mail.example.org');
    expect(summary.dsn?.recipients[0]?.status).toBe('5.1.1');
    expect(summary.dsn?.originalMessageId).toBeNull();
  });
});
