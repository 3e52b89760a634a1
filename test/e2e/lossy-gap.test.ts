/**
 * captures/lossy-gap.pcap: a clean swaks session with one full-size client DATA segment (1448 bytes, at
 * relative client offset 15525) removed from the file. The server's ACKs cover the missing bytes, so the
 * reassembler declares the hole lost as soon as data past it arrives, and the client's end of data and QUIT
 * reach the SMTP decoder before the server's 250 and 221 answer them.
 */

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';

const CAPTURE = join(import.meta.dirname, '../../captures/lossy-gap.pcap');

describe('lossy-gap', () => {
  it('pairs the replies after a hole the server acknowledged with the end of data and QUIT', async () => {
    const { sessions } = await analyzeToArray({ inputs: [{ kind: 'file', path: CAPTURE }] });
    expect(sessions).toHaveLength(1);
    const session = sessions[0]!;
    expect(session.commands.map((c) => [c.verb, c.reply?.code ?? null])).toEqual([
      ['EHLO', 250],
      ['MAIL', 250],
      ['RCPT', 250],
      ['DATA', 354],
      ['END-OF-DATA', 250],
      ['QUIT', 221],
    ]);
    expect(session.end).toBe('quit');
    expect(session.closeReason).toBe('fin');
    expect(session.transactions).toHaveLength(1);
    expect(session.transactions[0]?.messageComplete).toBe(false);
    expect(session.quality).toMatchObject({ gaps: 1, gapBytes: 1448 });
    expect(session.flow.c2s).toMatchObject({ gaps: 1, gapBytes: 1448 });
    expect(session.anomalies.map((a) => a.code)).toEqual(['content-gap']);
  });
});
