import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/model/sink.js';
import { createCsvFormatter, toCsvValue } from '../../src/report/csv-format.js';
import { createCsvSink, resolveCsvTargets } from '../../src/report/csv-sink.js';
import { makeSession, makeTransaction, T0 } from '../helpers/sessions.js';

const summary = {} as RunSummary;
const tmp = (): string => mkdtempSync(join(tmpdir(), 'smtpscope-csv-'));

describe('csv-sink', () => {
  it.each([
    { value: 'plain', type: 'string', out: '"plain"' },
    { value: '', type: 'string', out: '""' },
    { value: null, type: 'string', out: '' },
    { value: 'a,b', type: 'string', out: '"a,b"' },
    { value: 'say "hi"', type: 'string', out: '"say ""hi"""' },
    { value: '=HYPERLINK("x")', type: 'string', out: '"\'=HYPERLINK(""x"")"' },
    { value: '+1+2', type: 'string', out: '"\'+1+2"' },
    { value: '-2+3', type: 'string', out: '"\'-2+3"' },
    { value: '@SUM(A1)', type: 'string', out: '"\'@SUM(A1)"' },
    { value: '\tcmd', type: 'string', out: '"\\x09cmd"' },
    { value: '\rcmd', type: 'string', out: '"\\x0Dcmd"' },
    { value: 'line1\nline2', type: 'string', out: '"line1\\x0Aline2"' },
    { value: 'esc\u001b[31mred', type: 'string', out: '"esc\\x1B[31mred"' },
    { value: 'nul\u0000', type: 'string', out: '"nul\\x00"' },
    { value: 'c1\u009bx', type: 'string', out: '"c1\\x9Bx"' },
    { value: 'bidi\u202eevil', type: 'string', out: '"bidi\\u{202E}evil"' },
    { value: 'a=b', type: 'string', out: '"a=b"' },
    { value: -5, type: 'int', out: '-5' },
    { value: 0, type: 'int', out: '0' },
    { value: 1.5, type: 'float', out: '1.5' },
    { value: true, type: 'bool', out: 'true' },
    { value: false, type: 'bool', out: 'false' },
    { value: T0 + 123_456, type: 'time', out: '"2024-03-01T12:00:00.123456Z"' },
    { value: T0 + 1, type: 'time', out: '"2024-03-01T12:00:00.000001Z"' },
  ] as const)('writes $type $value as $out', ({ value, type, out }) => {
    const f = createCsvFormatter([{ name: 'c', type }]);
    expect(f.header).toBe('c\n');
    expect(f.format([[value]])).toBe(`${out}\n`);
  });

  it('ends records with CRLF when asked', () => {
    const f = createCsvFormatter(
      [
        { name: 'a', type: 'int' },
        { name: 'b', type: 'string' },
      ],
      { crlf: true },
    );
    expect(f.header + f.format([[1, 'x']])).toBe('a,b\r\n1,"x"\r\n');
  });

  it('never leaves a control character in a string cell', () => {
    for (let cp = 0; cp < 0xa0; cp++) {
      if (cp >= 0x20 && cp < 0x7f) continue;
      const v = toCsvValue(`x${String.fromCharCode(cp)}y`, 'string');
      expect(v).toBe(`x\\x${cp.toString(16).toUpperCase().padStart(2, '0')}y`);
    }
  });

  it('writes nothing at the final names until close, then four complete files', async () => {
    const dir = tmp();
    const sink = createCsvSink({ dir });
    await sink.sessionClosed(makeSession());
    expect(existsSync(join(dir, 'sessions.csv'))).toBe(false);
    expect(readdirSync(dir).every((n) => n.startsWith('.') && n.endsWith('.tmp'))).toBe(true);
    await sink.close(summary);
    expect(readdirSync(dir).sort()).toEqual([
      'commands.csv',
      'recipients.csv',
      'sessions.csv',
      'transactions.csv',
    ]);
    const sessions = readFileSync(join(dir, 'sessions.csv'), 'utf8').split('\n');
    expect(sessions[0]?.startsWith('session_id,started_at,')).toBe(true);
    expect(sessions).toHaveLength(3); // header, one row, final empty string
    expect(readFileSync(join(dir, 'recipients.csv'), 'utf8')).toContain('"bob@example.net"');
  });

  it('writes header-only files for a run without sessions', async () => {
    const dir = tmp();
    const sink = createCsvSink({ dir });
    await sink.close(summary);
    expect(readFileSync(join(dir, 'transactions.csv'), 'utf8')).toMatch(/^session_id,depth,.*\n$/);
  });

  it('replaces a symlink planted at the final name instead of writing through it', async () => {
    const dir = tmp();
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'keep me');
    symlinkSync(victim, join(dir, 'sessions.csv'));
    const sink = createCsvSink({ files: { sessions: join(dir, 'sessions.csv') } });
    await sink.sessionClosed(makeSession());
    await sink.close(summary);
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
    expect(lstatSync(join(dir, 'sessions.csv')).isSymbolicLink()).toBe(false);
  });

  it('refuses to append through a symlink at the final name', async () => {
    const dir = tmp();
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'keep me');
    symlinkSync(victim, join(dir, 'sessions.csv'));
    const sink = createCsvSink({ files: { sessions: join(dir, 'sessions.csv') }, append: true });
    await expect(sink.sessionClosed(makeSession())).rejects.toThrow(/ELOOP|symbolic/);
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
  });

  it('appends and flushes rows as sessions close, writing the header once', async () => {
    const dir = tmp();
    const path = join(dir, 'transactions.csv');
    const first = createCsvSink({ files: { transactions: path }, append: true });
    await first.sessionClosed(makeSession());
    // flushed before close: visible to a reader now
    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(3);
    await first.close(summary);
    const second = createCsvSink({ files: { transactions: path }, append: true });
    await second.sessionClosed(
      makeSession({ transactions: [makeTransaction(), makeTransaction({ depth: 2 })] }),
    );
    await second.close(summary);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.filter((l) => l.startsWith('session_id,'))).toHaveLength(1);
  });

  it('refuses to append to a file with other columns', async () => {
    const dir = tmp();
    const path = join(dir, 'sessions.csv');
    writeFileSync(path, 'something,else\n1,2\n');
    const sink = createCsvSink({ files: { sessions: path }, append: true });
    await expect(sink.sessionClosed(makeSession())).rejects.toThrow(/header/);
    expect(readFileSync(path, 'utf8')).toBe('something,else\n1,2\n');
  });

  it('writes the sessions level to standard output for -', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
    const sink = createCsvSink({ dir: '-', stdout: out });
    await sink.sessionClosed(makeSession());
    await sink.close(summary);
    const text = chunks.join('');
    expect(text.startsWith('session_id,')).toBe(true);
    expect(text.trimEnd().split('\n')).toHaveLength(2);
  });

  it('rejects two levels on standard output', () => {
    expect(() => resolveCsvTargets({ files: { sessions: '-', commands: '-' } })).toThrow(/one CSV level/);
  });
});

describe('output-file', () => {
  it('does not follow a symlink planted at the temporary name', async () => {
    const { createOutputFile } = await import('../../src/report/output-file.js');
    const dir = tmp();
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'keep me');
    const temp = join(dir, '.out.csv.tmp');
    symlinkSync(victim, temp);
    const out = createOutputFile(join(dir, 'out.csv'), {
      append: false,
      header: 'h\n',
      tempName: () => temp,
    });
    await expect(out.write('row\n')).rejects.toThrow(/EEXIST/);
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
    expect(existsSync(join(dir, 'out.csv'))).toBe(false);
  });

  it('removes the temporary file on abort', async () => {
    const { createOutputFile } = await import('../../src/report/output-file.js');
    const dir = tmp();
    const out = createOutputFile(join(dir, 'out.csv'), { append: false, header: 'h\n' });
    await out.write('row\n');
    expect(readdirSync(dir)).toHaveLength(1);
    await out.abort();
    expect(readdirSync(dir)).toEqual([]);
  });
});
