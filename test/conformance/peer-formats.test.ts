import { describe, expect, it } from 'vitest';
import { judge } from '../harness/conformance/expectations.js';
import { bareAddress, finding, setValue } from '../harness/conformance/finding.js';
import { parseFollowRaw } from '../harness/conformance/follow-check.js';
import { parseIndexOutputs, suricataCaptureOf } from '../harness/conformance/peer-captures.js';
import { compareNdpi, compareZeekConn, parseNdpiFlows } from '../harness/conformance/peer-flows.js';
import { parseTsharkFields } from '../harness/conformance/tshark-fields.js';
import { parseZeekLog, zeekList } from '../harness/conformance/zeek-log.js';
import { session } from './fake-session.js';

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

describe('peer formats: flows and the folder index', () => {
  it('reads a zeek-cut log whose header is a bare line of field names', () => {
    const rows = parseZeekLog('### BTest baseline\nuid\tservice\thistory\nC1\tsmtp\tShAdDaXFf\n');
    expect(rows).toEqual([{ uid: 'C1', service: 'smtp', history: 'ShAdDaXFf' }]);
  });

  it('takes the expected-output files each capture row of the index names, per source section', () => {
    const text = [
      '### zeek (zeek/zeek)',
      '| file | repo path | expected |',
      '|---|---|---|',
      '| `smtp.pcap` | `testing/btest/Traces/smtp.pcap` | scripts.base.protocols.smtp.basic__smtp.log, a.b__files.log | x |',
      '### ndpi (ntop/nDPI)',
      '| `smtps.pcapng` | `tests/x` | smtps.pcapng.out |',
    ].join('\n');
    const index = parseIndexOutputs(text);
    expect([...(index.get('zeek/smtp.pcap') ?? [])]).toEqual([
      'scripts.base.protocols.smtp.basic__smtp.log',
      'a.b__files.log',
    ]);
    expect(index.has('ndpi/smtps.pcapng')).toBe(true);
  });

  it('reads the SMTP and SMTPS flows of nDPI output, IPv6 and sub-protocols included', () => {
    const text = [
      '\t1\tTCP 10.0.0.1:57406 <-> 173.194.68.26:25 [proto: 29.126/SMTPS.Google][IP: 126/Google]',
      '\t2\tTCP [2003:de::1]:7562 <-> [2003:de::2]:25 [VLAN: 125][proto: 3/SMTP][IP: 0/Unknown]',
      '\t3\tTCP 10.0.0.1:1000 <-> 10.0.0.2:80 [proto: 7/HTTP][IP: 0/Unknown]',
    ].join('\n');
    const flows = parseNdpiFlows(text);
    expect(flows.map((f) => [f.a.ip, f.a.port, f.b.ip, f.b.port, f.protocol])).toEqual([
      ['10.0.0.1', 57406, '173.194.68.26', 25, 'SMTPS.Google'],
      ['2003:de::1', 7562, '2003:de::2', 25, 'SMTP'],
    ]);
    const s = session({ client: { ip: '173.194.68.26', port: 25 }, server: { ip: '10.0.0.1', port: 57406 } });
    const found = compareNdpi('c', flows, [s]);
    expect(found.map((f) => [f.agree, f.lostSession ?? false])).toEqual([
      [true, false],
      [false, true],
      [false, false],
    ]);
  });

  it('needs a session for every smtp connection of a conn.log, by endpoints or by number', () => {
    const byNumber = [{ uid: 'C1', service: 'smtp' }];
    expect(compareZeekConn('c', byNumber, []).map((f) => f.lostSession)).toEqual([true]);
    expect(compareZeekConn('c', byNumber, [session()]).map((f) => f.agree)).toEqual([true]);
    const placed = [
      { 'id.orig_h': '10.0.0.1', 'id.orig_p': '40000', 'id.resp_p': '25', service: 'smtp,ssl' },
    ];
    expect(compareZeekConn('c', placed, [session()]).map((f) => [f.check, f.agree])).toEqual([
      ['conn.40000.session', true],
    ]);
  });
});
