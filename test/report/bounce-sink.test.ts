import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/model/sink.js';
import { createBounceSink } from '../../src/report/bounce-sink.js';
import { makeRecipient, makeReply, makeSession, makeTransaction } from '../helpers/sessions.js';

describe('bounce-sink', () => {
  it('writes bounces.csv and the text report at close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpscope-bounce-'));
    const sink = createBounceSink({ csv: join(dir, 'bounces.csv'), text: join(dir, 'bounces.txt') });
    const refused = makeRecipient({
      address: 'nobody@example.net',
      rcptReply: makeReply(550, '5.1.1', 'User unknown'),
      finalReply: null,
      disposition: 'rejected-rcpt',
      reasonClass: 'mailbox-unknown',
    });
    await sink.sessionClosed(
      makeSession({ transactions: [makeTransaction({ recipients: [makeRecipient(), refused] })] }),
    );
    await sink.sessionClosed(makeSession());
    await sink.close({} as RunSummary);
    const csv = readFileSync(join(dir, 'bounces.csv'), 'utf8').trimEnd().split('\n');
    expect(csv).toHaveLength(2);
    expect(csv[1]).toContain('"nobody@example.net"');
    expect(readFileSync(join(dir, 'bounces.txt'), 'utf8')).toMatch(/^Bounce report: 1 failure \(1 permanent/);
  });
});
