/**
 * docs/JSON.md, "Loading into ClickHouse": the NDJSON lines of a real capture, unchanged, go into the table
 * the page shows with FORMAT JSONEachRow and the two settings it names, against a real clickhouse-server.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import { toSessionDocument } from '../../src/report/json-document.js';
import {
  findClickHouseServer,
  startTestClickHouse,
  type TestClickHouse,
} from '../fleet/clickhouse-server.js';

const SERVER = findClickHouseServer();
const JSON_DOC = join(import.meta.dirname, '../../docs/JSON.md');
const CAPTURE = join(import.meta.dirname, '../../captures/postfix-basic.pcap');

describe.skipIf(SERVER === null)('json-document in ClickHouse (needs clickhouse-server)', () => {
  let ch: TestClickHouse;
  beforeAll(async () => {
    ch = await startTestClickHouse(SERVER ?? []);
  }, 60_000);
  afterAll(async () => {
    await ch?.dispose();
  });

  it('loads the NDJSON lines unchanged into the table of docs/JSON.md', async () => {
    const markdown = readFileSync(JSON_DOC, 'utf8');
    const section = markdown.slice(markdown.indexOf('## Loading into ClickHouse'));
    const ddl = /```sql\n([\s\S]*?)```/.exec(section)?.[1];
    expect(ddl).toBeDefined();
    await ch.query(ddl!);

    const { sessions } = await analyzeToArray({ inputs: [{ kind: 'file', path: CAPTURE }] });
    const docs = sessions.map((s) => toSessionDocument(s));
    expect(docs.length).toBeGreaterThan(0);
    const body = docs.map((d) => `${JSON.stringify(d)}\n`).join('');
    const params = new URLSearchParams({
      query: 'INSERT INTO smtp_sessions FORMAT JSONEachRow',
      input_format_import_nested_json: '1',
      input_format_skip_unknown_fields: '1',
    });
    const res = await fetch(`${ch.url}/?${params}`, { method: 'POST', body });
    expect(res.status, await res.text()).toBe(200);

    const rows = (
      await ch.query(
        'SELECT `smtp.session_id`, `source.ip`, `source.port`, `destination.domain`, `event.category`, `tls.established`, `email.subject`, `email.message_id`, `email.local_id`, `smtp.messages` FROM smtp_sessions ORDER BY `smtp.start_us` FORMAT JSONEachRow',
      )
    )
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toEqual(
      docs.map((d) => ({
        'smtp.session_id': d.smtp.session_id,
        'source.ip': d.source.ip,
        'source.port': d.source.port,
        'destination.domain': d.destination.domain,
        'event.category': d.event.category,
        'tls.established': d.tls.established ? 1 : 0,
        'email.subject': d.email.subject,
        'email.message_id': d.email.message_id,
        'email.local_id': d.email.local_id,
        'smtp.messages': d.smtp.messages,
      })),
    );
    // The capture's messages arrive at the top level, so a flat table sees them.
    expect(rows.filter((r) => r['email.message_id'] !== null).length).toBeGreaterThan(0);
  }, 120_000);
});
