/**
 * The dashboard in a real terminal: the CLI runs inside tmux on captured traffic, keys are sent with
 * `send-keys` and the screen is read back with `capture-pane`. Each test has its own tmux server (socket
 * smtpscope-test-<pid>-<n>), waits for the screen for a few seconds at most and kills its server after.
 *
 * The CLI is built from the current sources (test/helpers/built-cli.ts).
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { builtCli, ROOT } from '../helpers/built-cli.js';

const HAVE_TMUX = spawnSync('tmux', ['-V']).status === 0;
let testCount = 0;
/** A tmux server per test: smtpscope-test-<pid>-<n>. */
let socket = '';
const BASIC = join(ROOT, 'captures', 'postfix-basic.pcap');
const REJECTS = join(ROOT, 'captures', 'postfix-rejects.pcap');

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
}

let bin = '';
let work = '';

/**
 * Runs the CLI on `files`, or with `pipe` on standard input (`cat FILE | smtpscope -`); with `holdOpen` the
 * pipe stays open and silent after the file, as a capture program's pipe does.
 */
function start(
  width: number,
  height: number,
  files: readonly string[],
  pipe?: string,
  holdOpen = false,
): string {
  testCount++;
  socket = `smtpscope-test-${process.pid}-${testCount}`;
  const exitFile = join(work, `exit-${testCount}`);
  const quoted = files.map((f) => `'${f}'`).join(' ');
  const cli = pipe === undefined ? `node '${bin}' ${quoted}` : `cat '${pipe}' | node '${bin}' -`;
  // An open pipe's writer outlives smtpscope, so the status is taken inside the pipeline.
  const command = holdOpen
    ? `cd '${work}' && (cat '${pipe}'; sleep 30) | { LANG=C.UTF-8 node '${bin}' -; echo $? > '${exitFile}'; }; sleep 30`
    : `cd '${work}' && LANG=C.UTF-8 ${cli}; echo $? > '${exitFile}'; sleep 30`;
  tmux('new-session', '-d', '-s', 'main', '-x', String(width), '-y', String(height), command);
  return exitFile;
}

const screen = (): string => tmux('capture-pane', '-p', '-t', 'main');

async function waitFor(test: (text: string) => boolean, what: string, timeoutMs = 8000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = screen();
    if (test(text)) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; the screen was:\n${text}`);
}

async function waitForFile(path: string, timeoutMs = 8000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      if (text.endsWith('\n')) return text.trim();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${path}`);
}

/** Opens the filter prompt and waits until it reads input (keys typed earlier would be lost). */
async function openFilter(): Promise<void> {
  tmux('send-keys', '-t', 'main', '/');
  await waitFor((t) => (t.trimEnd().split('\n').at(-1) ?? '').startsWith('/'), 'the filter prompt');
  await new Promise((r) => setTimeout(r, 150));
}

const keys = (...k: string[]): void => {
  tmux('send-keys', '-t', 'main', ...k);
};

/** Sends literal text (so characters like ':' and '/' are typed, not read as key names). */
const type = (text: string): void => {
  tmux('send-keys', '-t', 'main', '-l', text);
};

describe.skipIf(!HAVE_TMUX)('dashboard in tmux', () => {
  beforeAll(() => {
    bin = builtCli();
    work = mkdtempSync(join(tmpdir(), 'smtpscope-dash-'));
    mkdirSync(work, { recursive: true });
  }, 120_000);

  afterEach(() => {
    if (socket !== '') spawnSync('tmux', ['-L', socket, 'kill-server']);
  });

  afterAll(() => {
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  it('shows the sessions, opens a transcript, filters, shows bounces and quits with status 0 at 120x40', async () => {
    const exitFile = start(120, 40, [BASIC, REJECTS]);
    let text = await waitFor(
      (t) => t.includes('finished') && t.includes('127.0.0.1:58258 → 127.0.0.1:2525'),
      'the session list',
    );
    expect(text).toContain('127.0.0.1:35200 → 127.0.0.1:25');
    // The HELO column is cut at this width (the session id and the envelope take room).
    expect(text).toContain('client.sm');
    expect(text).toContain('Sessions 1/6');

    // Enter opens the first session's transcript; Escape closes it.
    keys('Enter');
    text = await waitFor((t) => t.includes('Transcript:'), 'the transcript');
    expect(text).toMatch(/C: MAIL FROM:<[^>]+>/);
    expect(text).toMatch(/S: 250 2\.1\.0 Ok/);
    keys('Escape');
    await waitFor((t) => !t.includes('Transcript:'), 'the transcript to close');

    // The filter narrows the list to the greylisted session.
    await openFilter();
    type('reason:greylisted');
    keys('Enter');
    text = await waitFor((t) => t.includes('Sessions 1/1'), 'the filtered list');
    expect(text).toContain('127.0.0.1:35242 → 127.0.0.1:25');
    expect(text).not.toContain('127.0.0.1:35200');
    expect(text).toContain('filter reason:greylisted');

    // Clear the filter, then the bounce view lists the failures, one row each, not the sessions: the refused
    // MAIL (554), the two refused recipients of one session (550 and 450), the 552 after the data and the 530;
    // nothing of the two clean deliveries of postfix-basic.
    await openFilter();
    keys('C-u');
    keys('Enter');
    await waitFor((t) => t.includes('Sessions 1/6'), 'the filter to clear');
    keys('b');
    text = await waitFor((t) => t.includes('Bounces: 5 failures, 0 DSNs · 1/5'), 'the bounce view');
    const rows = text.split('\n').filter((l) => /^│\d-C\d{6} /.test(l));
    expect(rows.map((l) => /^│(\S+) +\S+ +(\S+) +(\d{3})/.exec(l)?.slice(1).join(' '))).toEqual([
      '2-C000001 mail 554',
      '2-C000002 rcpt 550',
      '2-C000002 rcpt 450',
      '2-C000003 end-of-data 552',
      '2-C000004 mail 530',
    ]);
    expect(rows[1]).toContain('nosuchuser@localhost');
    expect(rows[2]).toContain('greylist@sink.test');
    expect(text).not.toContain('1-C000001');
    // Enter on the third row opens the session of that failure.
    keys('Down', 'Down', 'Enter');
    text = await waitFor((t) => t.includes('Transcript:'), 'the detail of the failure row');
    expect(text).toMatch(/^┌─ Session 2-C000002 /);
    expect(text).toContain('to <greylist@sink.test> deferred-rcpt (greylisted)');
    keys('Escape');
    await waitFor((t) => t.includes('Bounces: 5 failures, 0 DSNs · 3/5'), 'the bounce view again');
    // b again: the sessions, with that failure's session (the fourth) selected.
    keys('b');
    await waitFor((t) => t.includes('Sessions 4/6'), 'the sessions with 2-C000002 selected');

    keys('q');
    expect(await waitForFile(exitFile)).toBe('0');
  }, 60_000);

  it('draws the session detail over the whole screen, with no fragment of the panels beside it', async () => {
    start(120, 40, [BASIC, REJECTS]);
    await waitFor((t) => t.includes('finished') && t.includes('127.0.0.1:58258 →'), 'the session list');
    keys('Down', 'Down', 'Down', 'Enter');
    const text = await waitFor((t) => t.includes('Transcript:'), 'the detail');
    const lines = text.replace(/\n+$/, '').split('\n');
    expect(lines[0]).toMatch(/^┌─ Session \S+ .*┐$/);
    // Every row below is the detail's own: its border at both ends, nothing of the panels behind.
    for (const line of lines.slice(1, 38)) expect(line).toMatch(/^│.*│$/);
    expect(lines[38]).toMatch(/^└─+┘$/);
    expect(text).not.toMatch(/se┌|┌─│|│T│/);
    keys('q');
  }, 60_000);

  it('shows the sort direction, reverses it on a second s (and with S), and local times with their zone', async () => {
    testCount++;
    socket = `smtpscope-test-${process.pid}-${testCount}`;
    tmux(
      'new-session',
      '-d',
      '-s',
      'main',
      '-x',
      '120',
      '-y',
      '40',
      `cd '${work}' && LANG=C.UTF-8 TZ=Asia/Kolkata node '${bin}' '${REJECTS}'; sleep 30`,
    );
    // postfix-rejects.pcap starts at 18:14:18.860 UTC: 23:44:18 in India (whole seconds at this width).
    let text = await waitFor((t) => t.includes('finished') && t.includes('Time ▲'), 'the session list');
    expect(text).toMatch(/C000001 +23:44:18 /);
    expect(text).not.toContain('18:14:18');
    expect(text).toContain('UTC+05:30');
    expect(text.indexOf('C000001')).toBeLessThan(text.indexOf('C000004'));
    // The first sort is time, ascending: s on it again reverses it.
    keys('s');
    text = await waitFor((t) => t.includes('Time ▼'), 'the reversed sort');
    expect(text).toContain('sort time ▼');
    expect(text.indexOf('C000004')).toBeLessThan(text.indexOf('C000001'));
    // A third s goes to the next column, the server, ascending: port 25 before 2525.
    keys('s');
    text = await waitFor((t) => t.includes('Client → Server ▲'), 'the server sort');
    expect(text.indexOf('127.0.0.1:2525')).toBeGreaterThan(text.indexOf('127.0.0.1:25 '));
    keys('S');
    text = await waitFor((t) => t.includes('Client → Server ▼'), 'the server sort reversed with S');
    expect(text.indexOf('127.0.0.1:2525')).toBeLessThan(text.indexOf('127.0.0.1:25 '));
    keys('q');
  }, 60_000);

  it('jumps from an anomaly to its session on Enter', async () => {
    // odd-commands.pcap has one anomaly (the unknown command XYZZY); sorted newest first, its session is last.
    start(120, 40, [REJECTS, join(ROOT, 'captures', 'odd-commands.pcap')]);
    await waitFor((t) => t.includes('finished') && t.includes('Sessions 1/5'), 'the session list');
    keys('s');
    let text = await waitFor((t) => t.includes('Time ▼'), 'newest first');
    expect(text).toMatch(/│\d\d:\d\d:\d\d\.\d{3} 2-C000001 unknown-command unknown command XYZZY/);
    // Shift-Tab focuses the anomaly log (the panel after the sessions, backwards), whose cursor is on its
    // newest entry; Enter opens that anomaly's session.
    keys('BTab');
    await new Promise((r) => setTimeout(r, 200));
    keys('Enter');
    text = await waitFor((t) => t.includes('Transcript:'), 'the detail of the anomaly');
    expect(text).toMatch(/^┌─ Session 2-C000001 /);
    expect(text).toContain('unknown-command');
    // The session is selected in the list: the last of five.
    keys('Escape');
    text = await waitFor((t) => t.includes('Sessions 5/5'), 'the session selected in the list');
    keys('q');
  }, 60_000);

  it('shows the MTA log fates with --maillog: in the bounce list and in the detail', async () => {
    const relay = (name: string) => join(ROOT, 'captures', name);
    const exitFile = start(160, 40, [
      relay('postfix-relay.pcap'),
      '--maillog',
      relay('postfix-relay.a.maillog'),
      '--maillog',
      relay('postfix-relay.b.maillog'),
    ]);
    await waitFor((t) => t.includes('finished') && t.includes('Sessions 1/3'), 'the session list');
    keys('b');
    // Both recipients were accepted on the wire; Postfix A's log says the next hop refused gone@relay.test,
    // which Postfix B refused at RCPT on the relay leg, and A's notification carried a DSN about it.
    let text = await waitFor((t) => t.includes('Bounces: 2 failures, 1 DSN'), 'the bounce list');
    const rows = text.split('\n').filter((l) => /^│C\d{6} /.test(l));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(
      /^│C000001 .* after-queue +550 +5\.1\.1 .* gone@relay\.test .* host 127\.0\.0\.1/,
    );
    expect(rows[1]).toMatch(/^│C000002 .* rcpt +550 +5\.1\.1 .* gone@relay\.test /);
    expect(rows[2]).toMatch(/^│C000003 .* dsn failed +550 +5\.1\.1 +<> +gone@relay\.test /);
    expect(text).not.toContain('kept@relay.test');
    keys('Enter');
    text = await waitFor((t) => t.includes('Transcript:'), 'the detail of the submission');
    expect(text).toContain('After the queue (MTA log): 1 bounced, 1 sent');
    expect(text).toMatch(/later \(MTA log\): bounced via 127\.0\.0\.1\[127\.0\.0\.1\]:2643 \(dsn 5\.1\.1\)/);
    expect(text).toMatch(/later \(MTA log\): sent via 127\.0\.0\.1\[127\.0\.0\.1\]:2643/);
    keys('q');
    expect(await waitForFile(exitFile)).toBe('0');
    // The join's note is told once the screen is restored.
    await waitFor(
      (t) => t.includes('smtpscope: maillog: 32 line(s) read'),
      'the maillog note after the screen',
    );
  }, 60_000);

  it('draws the main screen that docs/DASHBOARD.md shows, apart from wall-clock times', async () => {
    testCount++;
    socket = `smtpscope-test-${process.pid}-${testCount}`;
    const args = 'captures/postfix-basic.pcap captures/postfix-rejects.pcap';
    tmux(
      'new-session',
      '-d',
      '-s',
      'main',
      '-x',
      '120',
      '-y',
      '40',
      `cd '${ROOT}' && LANG=C.UTF-8 TZ=UTC node '${bin}' ${args}; sleep 30`,
    );
    const text = await waitFor(
      (t) => t.includes('finished') && t.includes('127.0.0.1:58258 →'),
      'the session list',
    );
    const doc = readFileSync(join(ROOT, 'docs', 'DASHBOARD.md'), 'utf8');
    const shown = /Main screen, 120×40:\n\n```text\n([\s\S]*?)\n```/.exec(doc)?.[1] ?? '';
    const normal = (screenText: string): string =>
      screenText
        .split('\n')
        .map((l) =>
          l
            .trimEnd()
            .replace(/elapsed \S+ \S+/, 'elapsed …')
            .replace(/rate .*$/, 'rate …'),
        )
        .join('\n')
        .trimEnd();
    expect(normal(shown)).toContain('127.0.0.1:58258 → 127.0.0.1:2525');
    expect(normal(text)).toBe(normal(shown));
    keys('q');
  }, 60_000);

  it('fits the main screen in 80x24 and quits with status 0', async () => {
    const exitFile = start(80, 24, [REJECTS]);
    const text = await waitFor(
      (t) => t.includes('finished') && t.includes('127.0.0.1:35226 → 127.0.0.1:25'),
      'the session list',
    );
    const lines = text.split('\n');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(text).toContain('Reply codes');
    expect(text).toContain('? help');
    keys('q');
    expect(await waitForFile(exitFile)).toBe('0');
  }, 60_000);

  it('reads keys from the terminal when the capture comes on standard input, and quits with status 0', async () => {
    const exitFile = start(120, 40, [], REJECTS);
    await waitFor(
      (t) => t.includes('finished') && t.includes('127.0.0.1:35226 → 127.0.0.1:25'),
      'the session list',
    );
    keys('b');
    await waitFor((t) => t.includes('Bounces:'), 'the bounce view');
    keys('q');
    expect(await waitForFile(exitFile)).toBe('0');
  }, 60_000);

  it('shows standard input live while the pipe is still open, and quits at once with status 0', async () => {
    const exitFile = start(120, 40, [], REJECTS, true);
    // The live dashboard, not the progress box that waits for the end of input.
    const text = await waitFor(
      (t) => t.includes('capturing') && t.includes('127.0.0.1:35226 → 127.0.0.1:25'),
      'the live session list',
    );
    expect(text).toMatch(/^smtpscope {2}live -/);
    expect(text).not.toContain('Reading');
    keys('q');
    expect(await waitForFile(exitFile, 5000)).toBe('0');
  }, 60_000);

  it('pauses and resumes a live view, shows drops n/a, redraws at a new window size and quits with status 0', async () => {
    const exitFile = start(120, 40, [], REJECTS, true);
    let text = await waitFor(
      (t) => t.includes('capturing') && t.includes('127.0.0.1:35226 → 127.0.0.1:25'),
      'the live session list',
    );
    // Standard input cannot know what its writer dropped.
    expect(text.split('\n')[1]).toMatch(/ drops n\/a /);
    const elapsed = (t: string): string => /elapsed (\S+ \S+)/.exec(t)?.[1] ?? '';

    // p freezes the display: the header says PAUSED and the wall clock in it stops.
    keys('p');
    text = await waitFor((t) => t.includes('PAUSED'), 'the paused header');
    expect(text).toContain('display paused (capture goes on); p resumes');
    expect(text).not.toContain('capturing');
    const frozen = elapsed(text);
    await new Promise((r) => setTimeout(r, 700));
    expect(elapsed(screen())).toBe(frozen);
    keys('p');
    text = await waitFor((t) => t.includes('capturing') && elapsed(t) !== frozen, 'the resumed display');
    expect(text).toContain('display resumed');
    expect(text).not.toContain('PAUSED');

    // The drawn screen follows the window: every border and the status line at the new size.
    const size = (t: string): { width: number; height: number } => {
      const lines = t.replace(/\n+$/, '').split('\n');
      return { width: Math.max(...lines.map((l) => [...l.trimEnd()].length)), height: lines.length };
    };
    expect(size(text)).toEqual({ width: 120, height: 40 });
    for (const [width, height] of [
      [90, 26],
      [172, 44],
    ] as const) {
      tmux('resize-window', '-t', 'main', '-x', String(width), '-y', String(height));
      // Redrawn, not the old screen cut or padded by tmux: the top border ends at the new right edge and
      // the status line is on the new last row.
      const redrawn = (t: string): boolean => {
        const lines = t.replace(/\n+$/, '').split('\n');
        const border = [...(lines[2] ?? '')];
        return (
          lines.length === height &&
          border.length === width &&
          border.at(-1) === '┐' &&
          /\? help {2}q quit$/.test(lines.at(-1) ?? '')
        );
      };
      text = await waitFor(redrawn, `the screen redrawn at ${width}x${height}`);
      const lines = text.replace(/\n+$/, '').split('\n');
      expect(size(text)).toEqual({ width, height });
      expect(lines.at(-1)).toMatch(/ 4 session\(s\) {2}sort time {2}\? help {2}q quit$/);
      expect(lines[2]).toMatch(/^┌─ Sessions 1\/4 · sort time ▼ · UTC\S* ─+┐/);
      // From 170 columns and 30 rows the summary panels move to a right-hand column.
      if (width >= 170) expect(lines[2]).toMatch(/┐┌─ Reply codes ─+┐$/);
      else expect(lines[2]).not.toContain('Reply codes');
      expect(text).toContain('127.0.0.1:35226 → 127.0.0.1:25');
      expect(lines[1]).toMatch(/ drops n\/a /);
    }

    keys('q');
    expect(await waitForFile(exitFile, 5000)).toBe('0');
  }, 60_000);

  it('exports the filtered view to CSV and says where', async () => {
    const exitFile = start(120, 40, [REJECTS]);
    await waitFor((t) => t.includes('finished') && t.includes('Sessions 1/4'), 'the session list');
    await openFilter();
    type('code:552');
    keys('Enter');
    await waitFor((t) => t.includes('Sessions 1/1'), 'the filtered list');
    keys('e');
    const text = await waitFor(
      (t) => t.includes('exported 1 session(s) to ./smtpscope-export-'),
      'the export message',
    );
    const dir = /\.\/(smtpscope-export-[^/\s]+)\//.exec(text)?.[1] ?? '';
    const sessionsCsv = readFileSync(join(work, dir, 'sessions.csv'), 'utf8')
      .trim()
      .split('\n');
    expect(sessionsCsv).toHaveLength(2); // header and the one session
    expect(sessionsCsv[1]).toContain('35254');
    keys('q');
    expect(await waitForFile(exitFile)).toBe('0');
  }, 60_000);

  it('quits with status 0 on SIGTERM', async () => {
    const exitFile = start(100, 30, [REJECTS]);
    await waitFor((t) => t.includes('finished'), 'the dashboard');
    const pid = tmux('list-panes', '-t', 'main', '-F', '#{pane_pid}').trim();
    // The pane runs sh, whose child is node.
    const child =
      execFileSync('pgrep', ['-P', pid, 'node'], { encoding: 'utf8' }).trim().split('\n')[0] ?? '';
    process.kill(Number(child), 'SIGTERM');
    expect(await waitForFile(exitFile)).toBe('0');
  }, 60_000);

  describe('while quitting takes long', () => {
    // A "ClickHouse server" that accepts connections and never answers: the run cannot finish until the
    // sink gives up (30 s), so the first quit request keeps waiting and the second must leave at once.
    let silent: Server | null = null;
    const sockets = new Set<Socket>();
    let url = '';
    beforeAll(async () => {
      const server = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.resume();
      });
      silent = server;
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      url = `http://127.0.0.1:${address.port}`;
    });
    afterAll(async () => {
      const server = silent;
      if (server === null) return;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    const startStuck = (): string => start(100, 30, [REJECTS, '--clickhouse', url]);
    const nodePid = (): number => {
      const pid = tmux('list-panes', '-t', 'main', '-F', '#{pane_pid}').trim();
      return Number(execFileSync('pgrep', ['-P', pid, 'node'], { encoding: 'utf8' }).trim().split('\n')[0]);
    };

    it.each([
      { first: 'q', second: 'q' },
      { first: 'C-c', second: 'C-c' },
      { first: 'q', second: 'C-c' },
    ])(
      'leaves at once with status 130 on $second while $first is still flushing',
      async ({ first, second }) => {
        const exitFile = startStuck();
        await waitFor(
          (t) => t.includes('reading') && t.includes('sessions open 0 total 4'),
          'every session read',
        );
        keys(first);
        await waitFor((t) => t.includes('stopping: closing open sessions'), 'the stopping message');
        keys(second);
        expect(await waitForFile(exitFile, 5000)).toBe('130');
        expect(screen()).toContain('left at once');
      },
      60_000,
    );

    it('shows a full bar at 100.0% for plain files and for gzip input, counting its compressed bytes', async () => {
      let exitFile = start(100, 30, [REJECTS, '--clickhouse', url]);
      let text = await waitFor(
        (t) => t.includes('every byte read') && t.includes('sessions open 0 total 4'),
        'the progress box at its end',
      );
      expect(text).toMatch(/█+ +100\.0%/);
      expect(text).toContain('25.5 KiB of 25.5 KiB (26,125 of 26,125)');
      keys('q');
      await waitFor((t) => t.includes('stopping: closing open sessions'), 'the stopping message');
      keys('q');
      expect(await waitForFile(exitFile, 5000)).toBe('130');
      spawnSync('tmux', ['-L', socket, 'kill-server']);

      const gz = join(work, 'rejects.pcap.gz');
      execFileSync('sh', ['-c', `gzip -c '${REJECTS}' > '${gz}'`]);
      exitFile = start(100, 30, [gz, '--clickhouse', url]);
      text = await waitFor(
        (t) => t.includes('Reading') && t.includes('sessions open 0 total 4'),
        'the progress box of the gzip file',
      );
      expect(text).toMatch(/█+ +100\.0%/);
      expect(text).toMatch(/of [\d.]+ KiB compressed \(25\.5 KiB out\)/);
      keys('q');
      await waitFor((t) => t.includes('stopping: closing open sessions'), 'the stopping message');
      keys('q');
      expect(await waitForFile(exitFile, 5000)).toBe('130');
    }, 60_000);

    it('leaves at once with status 143 on a second SIGTERM', async () => {
      const exitFile = startStuck();
      await waitFor(
        (t) => t.includes('reading') && t.includes('sessions open 0 total 4'),
        'every session read',
      );
      const child = nodePid();
      process.kill(child, 'SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      expect(existsSync(exitFile)).toBe(false);
      process.kill(child, 'SIGTERM');
      expect(await waitForFile(exitFile, 5000)).toBe('143');
    }, 60_000);
  });
});

if (!HAVE_TMUX) {
  describe('dashboard in tmux', () => {
    it.skip('needs tmux on the PATH (apt-get install tmux); skipped', () => {});
  });
}
