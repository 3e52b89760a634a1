import { describe, expect, it } from 'vitest';
import { judge } from '../../src/conformance/expectations.js';
import { bareAddress, finding, setValue } from '../../src/conformance/finding.js';
import { parseFollowRaw } from '../../src/conformance/follow-check.js';
import { suricataCaptureOf } from '../../src/conformance/peer-captures.js';
import { parseTsharkFields } from '../../src/conformance/tshark-fields.js';
import { parseZeekLog, zeekList } from '../../src/conformance/zeek-log.js';

describe('peer formats', () => {
  it('reads Zeek rows by the #fields header and splits set cells', () => {
    const log =
      '#separator \\x09\n#fields\tuid\tmailfrom\trcptto\n#types\tstring\tstring\tset[string]\nC1\ta@x\tb@y,c@z\n#close\n';
    const rows = parseZeekLog(log);
    expect(rows).toEqual([{ uid: 'C1', mailfrom: 'a@x', rcptto: 'b@y,c@z' }]);
    expect(zeekList(rows[0]?.['rcptto'])).toEqual(['b@y', 'c@z']);
    expect(zeekList('-')).toEqual([]);
    expect(zeekList('(empty)')).toEqual([]);
  });

  it('counts tshark commands upper-cased and every code of a multi-code row', () => {
    const counts = parseTsharkFields('\t\t220\nEHLO\tx\t\n\t\t250,250,354\ncHVu\tmFi\t\n\t\t\n');
    expect([...counts.commands]).toEqual([
      ['EHLO', 1],
      ['CHVU', 1],
    ]);
    expect([...counts.codes]).toEqual([
      ['220', 1],
      ['250', 2],
      ['354', 1],
    ]);
  });

  it('maps a suricata-verify pcap path to the capture file name in the peer folder', () => {
    expect(
      suricataCaptureOf('detect-email-date', { pcap: '../mime/mime-dec-parse-full-msg-test02/input.pcap' }),
    ).toBe('mime-dec-parse-full-msg-test02__input.pcap');
    expect(suricataCaptureOf('ruletype-firewall-122-smtp', { pcap: 'smtp-simple-session.pcap' })).toBe(
      'ruletype-firewall-122-smtp__smtp-simple-session.pcap',
    );
    expect(suricataCaptureOf('bug-1045', { checks: [] })).toBeNull();
  });

  it('splits raw follow output into the bytes each node sent', () => {
    const text = [
      '',
      '===================================================================',
      'Follow: tcp,raw',
      'Filter: tcp.stream eq 0',
      'Node 0: 10.0.0.1:1000',
      'Node 1: 10.0.0.2:25',
      '\t3232300d0a',
      '454820',
      '4c4f0d0a',
      '===================================================================',
    ].join('\n');
    const streams = parseFollowRaw(text);
    expect(Buffer.from(streams.get('10.0.0.2:25>10.0.0.1:1000') ?? []).toString()).toBe('220\r\n');
    expect(Buffer.from(streams.get('10.0.0.1:1000>10.0.0.2:25') ?? []).toString()).toBe('EH LO\r\n');
  });

  it('takes the address inside angle brackets and joins sets sorted', () => {
    expect(bareAddress('"A B" <a@b.example>')).toBe('a@b.example');
    expect(bareAddress(' plain@x ')).toBe('plain@x');
    expect(setValue(['b', 'a', 'b'])).toBe('a,b');
    expect(setValue([])).toBe('-');
  });

  it('accepts only exactly recorded differences, reports stale entries, never accepts a lost session', () => {
    const f1 = finding('s/a.pcap', 'tshark', 'cmd.QUIT', '1', '0');
    const f2 = finding('s/a.pcap', 'tshark', 'cmd.MAIL', '2', '1');
    const lost = finding('s/a.pcap', 'zeek', '1#1.session', 'absent', 'present', { lostSession: true });
    const same = finding('s/a.pcap', 'tshark', 'cmd.EHLO', '1', '1');
    const e = (check: string, ours: string, theirs: string) => ({
      capture: 's/a.pcap',
      peer: 'tshark' as const,
      check,
      ours,
      theirs,
      reason: 'r',
    });
    const lostEntry = { ...e('1#1.session', 'absent', 'present'), peer: 'zeek' as const };
    const { judged, stale } = judge(
      [f1, f2, lost, same],
      [e('cmd.QUIT', '1', '0'), e('cmd.MAIL', '3', '1'), lostEntry, e('cmd.X', '1', '0')],
      new Set(['s/a.pcap']),
    );
    expect(judged.map((j) => j.accepted !== null)).toEqual([true, false, false, false]);
    expect(stale.map((s) => s.check)).toEqual(['cmd.MAIL', '1#1.session', 'cmd.X']);
  });
});
