import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/model/sink.js';
import { createExtractSink, extractBaseName } from '../../src/report/extract-sink.js';
import { formatIsoMicros } from '../../src/report/iso-micros.js';
import { makeMessage, makeSession, makeTransaction } from '../helpers/sessions.js';

const summary = {} as RunSummary;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const tmp = (): string => mkdtempSync(join(tmpdir(), 'smtpscope-extract-'));

describe('extract-sink', () => {
  it('makes file names from the session id and depth only', () => {
    expect(extractBaseName('1709294400000000-192.0.2.10:50123-198.51.100.25:25', 2)).toBe(
      '1709294400000000-192.0.2.10_50123-198.51.100.25_25-2',
    );
    expect(extractBaseName('../../etc/passwd', 1)).toBe('__.._etc_passwd-1');
    expect(extractBaseName('[2001:db8::1]:25', 1)).toBe('_2001_db8__1__25-1');
  });

  it('writes complete messages and an index linking them to the envelope', async () => {
    const dir = tmp();
    const sink = createExtractSink({ dir });
    const session = makeSession({
      transactions: [
        makeTransaction(),
        makeTransaction({ depth: 2, message: makeMessage({ subject: '=cmd|x' }) }),
      ],
    });
    const id = session.id;
    sink.messageStart(id, 1);
    sink.messageBytes(id, 1, enc('Subject: Quarterly report\r\n'));
    sink.messageBytes(id, 1, enc('\r\nbody\r\n'));
    sink.messageEnd(id, 1, true);
    sink.messageStart(id, 2, 'BDAT');
    sink.messageBytes(id, 2, enc('chunk1'));
    sink.messageBytes(id, 2, enc('chunk2'));
    sink.messageEnd(id, 2, true);
    await sink.sessionClosed(session);
    await sink.close(summary);
    const base = extractBaseName(id, 1).slice(0, -2);
    expect(readdirSync(dir).sort()).toEqual([`${base}-1.eml`, `${base}-2.eml`, 'index.csv'].sort());
    expect(readFileSync(join(dir, `${base}-1.eml`), 'utf8')).toBe(
      'Subject: Quarterly report\r\n\r\nbody\r\n',
    );
    expect(readFileSync(join(dir, `${base}-2.eml`), 'utf8')).toBe('chunk1chunk2');
    expect(statSync(join(dir, `${base}-1.eml`)).mode & 0o777).toBe(0o600);
    const index = readFileSync(join(dir, 'index.csv'), 'utf8').trimEnd().split('\n');
    expect(index[0]).toMatch(/^file,session_id,depth,complete,size_bytes,/);
    expect(index[1]).toContain(`"${base}-1.eml"`);
    expect(index[1]).toContain('"alice@example.org"');
    expect(index[1]).toContain(',true,35,false,');
    expect(index[2]).toContain('"\'=cmd|x"');
  });

  it('drops incomplete messages unless asked, then marks them', async () => {
    for (const includeIncomplete of [false, true]) {
      const dir = tmp();
      const sink = createExtractSink({ dir, includeIncomplete });
      const session = makeSession();
      sink.messageStart(session.id, 1);
      sink.messageBytes(session.id, 1, enc('partial'));
      sink.messageEnd(session.id, 1, false);
      await sink.sessionClosed(session);
      await sink.close(summary);
      const files = readdirSync(dir).filter((n) => n.endsWith('.eml'));
      if (!includeIncomplete) {
        expect(files).toEqual([]);
        expect(readdirSync(dir)).toEqual(['index.csv']);
      } else {
        expect(files).toEqual([`${extractBaseName(session.id, 1)}-incomplete.eml`]);
        expect(readFileSync(join(dir, 'index.csv'), 'utf8')).toContain(',false,7,false,');
      }
    }
  });

  it('finishes a message still open when its session closes, as incomplete', async () => {
    const dir = tmp();
    const sink = createExtractSink({ dir, includeIncomplete: true });
    const session = makeSession();
    sink.messageStart(session.id, 1);
    sink.messageBytes(session.id, 1, enc('abc'));
    await sink.sessionClosed(session);
    await sink.close(summary);
    expect(readdirSync(dir).filter((n) => n.endsWith('.eml'))).toEqual([
      `${extractBaseName(session.id, 1)}-incomplete.eml`,
    ]);
  });

  it('keeps at most maxOpenFiles descriptors and still writes every byte', async () => {
    const dir = tmp();
    const sink = createExtractSink({ dir, maxOpenFiles: 2 });
    const sessions = [0, 1, 2, 3, 4].map((i) => makeSession({ startedAt: 1_000_000 * (i + 1) }));
    for (const s of sessions) sink.messageStart(s.id, 1);
    for (let round = 0; round < 3; round++) {
      for (const s of sessions) sink.messageBytes(s.id, 1, enc(`${s.id.slice(0, 7)}:${round};`));
    }
    for (const s of sessions) sink.messageEnd(s.id, 1, true);
    for (const s of sessions) await sink.sessionClosed(s);
    await sink.close(summary);
    for (const s of sessions) {
      const p = s.id.slice(0, 7);
      expect(readFileSync(join(dir, `${extractBaseName(s.id, 1)}.eml`), 'utf8')).toBe(
        `${p}:0;${p}:1;${p}:2;`,
      );
    }
  });

  it('cuts a message at maxMessageBytes and marks it truncated', async () => {
    const dir = tmp();
    const sink = createExtractSink({ dir, maxMessageBytes: 5 });
    const s = makeSession();
    sink.messageStart(s.id, 1);
    sink.messageBytes(s.id, 1, enc('abc'));
    sink.messageBytes(s.id, 1, enc('defgh'));
    sink.messageEnd(s.id, 1, true);
    await sink.sessionClosed(s);
    await sink.close(summary);
    expect(readFileSync(join(dir, `${extractBaseName(s.id, 1)}.eml`), 'utf8')).toBe('abcde');
    expect(readFileSync(join(dir, 'index.csv'), 'utf8')).toContain(',true,5,true,');
  });

  it('gives a second message with the same name a numbered suffix', async () => {
    const dir = tmp();
    const sink = createExtractSink({ dir });
    const s = makeSession();
    for (const body of ['one', 'two']) {
      sink.messageStart(s.id, 1);
      sink.messageBytes(s.id, 1, enc(body));
      sink.messageEnd(s.id, 1, true);
    }
    await sink.close(summary);
    const base = extractBaseName(s.id, 1);
    expect(readFileSync(join(dir, `${base}.eml`), 'utf8')).toBe('one');
    expect(readFileSync(join(dir, `${base}-2.eml`), 'utf8')).toBe('two');
  });

  it('keeps the messages of an earlier run into the same folder: the second run takes the next free names', async () => {
    const dir = tmp();
    const s = makeSession();
    for (const body of ['first run', 'second run']) {
      const sink = createExtractSink({ dir });
      sink.messageStart(s.id, 1);
      sink.messageBytes(s.id, 1, enc(body));
      sink.messageEnd(s.id, 1, true);
      await sink.sessionClosed(s);
      await sink.close(summary);
    }
    const base = extractBaseName(s.id, 1);
    expect(readdirSync(dir).sort()).toEqual([`${base}-2.eml`, `${base}.eml`, 'index.csv']);
    expect(readFileSync(join(dir, `${base}.eml`), 'utf8')).toBe('first run');
    expect(readFileSync(join(dir, `${base}-2.eml`), 'utf8')).toBe('second run');
    // The second run's index names the file it wrote.
    expect(readFileSync(join(dir, 'index.csv'), 'utf8')).toContain(`"${base}-2.eml"`);
  });

  it('puts the MAIL time in microseconds next to started_at in index.csv', async () => {
    const dir = tmp();
    const s = makeSession();
    const sink = createExtractSink({ dir });
    sink.messageStart(s.id, 1);
    sink.messageBytes(s.id, 1, enc('x'));
    sink.messageEnd(s.id, 1, true);
    await sink.sessionClosed(s);
    await sink.close(summary);
    const [header, row] = readFileSync(join(dir, 'index.csv'), 'utf8').trimEnd().split('\n');
    const names = header!.split(',');
    const cells = row!.split(',');
    const micros = s.transactions[0]!.startedAt;
    expect(cells[names.indexOf('started_at_us')]).toBe(String(micros));
    expect(cells[names.indexOf('started_at')]).toBe(`"${formatIsoMicros(micros)}"`);
  });
});
