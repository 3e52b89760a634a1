/**
 * Community ID v1 against Arkime's expected session records (peer captures, read at test time: the records are
 * Arkime's own output, `network.community_id`), and the address parser against Node's own.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import { addressBytes, communityId } from '../../src/report/community-id.js';

const ARKIME = join(import.meta.dirname, '..', '..', '..', 'shared', 'captures', 'peer', 'arkime');
const peerSkip = existsSync(ARKIME)
  ? false
  : 'skipped: the peer captures folder (../shared/captures/peer) is absent';

describe('Community ID v1', () => {
  it.skipIf(peerSkip !== false)(
    "equals Arkime's network.community_id for every SMTP session of Arkime's own captures",
    async () => {
      let checked = 0;
      for (const name of readdirSync(ARKIME).filter((n) => n.endsWith('.test'))) {
        const pcap = join(ARKIME, name.replace(/\.test$/, '.pcap'));
        if (!existsSync(pcap)) continue;
        const expected = JSON.parse(readFileSync(join(ARKIME, name), 'utf8'));
        const docs: {
          source: { ip: string; port: number };
          destination: { ip: string; port: number };
          network: { community_id: string };
        }[] = (expected.sessions3 ?? []).map((s: { body: unknown }) => s.body);
        const { sessions } = await analyzeToArray({
          inputs: [{ kind: 'file', path: pcap }],
          ports: new Set(docs.map((d) => d.destination.port)),
        });
        for (const d of docs) {
          const s = sessions.find(
            (x) =>
              x.client.ip === d.source.ip &&
              x.client.port === d.source.port &&
              x.server.port === d.destination.port,
          );
          if (s === undefined) continue;
          expect(communityId(s.client, s.server), `${name} ${d.source.ip}:${d.source.port}`).toBe(
            d.network.community_id,
          );
          // The hash does not depend on which side is the client.
          expect(communityId(s.server, s.client)).toBe(d.network.community_id);
          checked++;
        }
      }
      expect(checked).toBeGreaterThanOrEqual(10);
    },
  );

  it('parses IPv6 text forms to 16 bytes and refuses what is not an address', () => {
    expect([...(addressBytes('::1') ?? [])]).toEqual([...new Array(15).fill(0), 1]);
    expect([...(addressBytes('2001:db8::ff00:42:8329') ?? [])].slice(0, 4)).toEqual([0x20, 0x01, 0x0d, 0xb8]);
    expect([...(addressBytes('::ffff:192.0.2.1') ?? [])].slice(10)).toEqual([0xff, 0xff, 192, 0, 2, 1]);
    for (const bad of ['1.2.3', '256.1.1.1', '1::2::3', 'x', '1:2:3:4:5:6:7:8:9']) {
      expect(addressBytes(bad), bad).toBeNull();
      expect(
        isIPv6(bad) || (/^\d+\.\d+\.\d+\.\d+$/.test(bad) && bad.split('.').every((p) => Number(p) < 256)),
      ).toBe(false);
    }
  });
});
