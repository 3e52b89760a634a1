/**
 * The HTML report in a real browser: the built CLI writes `--html` for postfix-rejects.pcap, and headless
 * Chromium (Debian `chromium`) loads it with the network off (a new network namespace with no interface up,
 * when `unshare` can make one; a dead proxy and no name resolution in any case). From the DOM after the page's
 * scripts ran: the charts drew their bars, the failures table holds the five refusals the capture's swaks
 * transcript shows, the filter in the address's fragment selects what `--where` selects, and a transcript opens
 * on demand. A screenshot is taken and checked; with SMTPSCOPE_UPDATE_SCREENSHOT=1 it becomes docs/report.png.
 */

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFilter } from '../../src/query/filter.js';
import { builtCli, ROOT } from '../helpers/built-cli.js';
import { readPng } from '../helpers/png.js';

const dir = mkdtempSync(join(tmpdir(), 'smtpscope-html-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function works(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 60_000 });
  return r.error === undefined && r.status === 0;
}

const chromium = works('chromium', ['--version']);
/** A private network namespace (root, or unprivileged user namespaces): the browser has no network at all. */
const netns = chromium && works('unshare', ['--net', 'true']);

const report = join(dir, 'report.html');
const profile = join(dir, 'profile');

/** Chromium on the report, with the network off; returns its standard output. */
function browse(fragment: string, extra: string[]): string {
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    `--user-data-dir=${profile}`,
    // No way out even without the namespace: every connection would go to a closed local port, no name resolves.
    '--proxy-server=127.0.0.1:9',
    '--host-resolver-rules=MAP * ~NOTFOUND',
    ...extra,
    `${pathToFileURL(report).href}${fragment}`,
  ];
  const r = netns
    ? spawnSync('unshare', ['--net', 'chromium', ...args], { encoding: 'utf8', timeout: 120_000 })
    : spawnSync('chromium', args, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`chromium failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** The rows of a table in the DOM Chromium dumped: each row's cells as text. */
function rows(dom: string, rowClass: string): string[][] {
  return [...dom.matchAll(new RegExp(`<tr class="${rowClass}[^"]*">(.*?)</tr>`, 'g'))].map((m) =>
    [...(m[1] as string).matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) =>
      (c[1] as string).replace(/<[^>]+>/g, ''),
    ),
  );
}

/** The bars of one chart: their `data-value`s, by class. */
function bars(dom: string, chartId: string): { cls: string; value: number }[] {
  const start = dom.indexOf(`id="${chartId}"`);
  const end = dom.indexOf('</figure>', start);
  expect(start, chartId).toBeGreaterThan(0);
  return [...dom.slice(start, end).matchAll(/<rect class="bar([^"]*)"[^>]*data-value="(\d+)"/g)].map((m) => ({
    cls: (m[1] as string).trim(),
    value: Number(m[2]),
  }));
}

describe.skipIf(!chromium)('the HTML report in headless Chromium', () => {
  it('draws the charts and the failures table, filters, and opens a transcript', { timeout: 300_000 }, () => {
    const run = spawnSync(
      process.execPath,
      [builtCli(), 'captures/postfix-rejects.pcap', '--html', report, '--summary'],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Sessions: 4 /);

    const dom = browse('', ['--dump-dom']);
    expect(dom).toContain('data-ready="yes"');
    // The five refusals of the swaks transcript (captures/postfix-rejects.swaks.txt), in time order.
    const failures = rows(dom, 'failure-row');
    expect(failures.map((r) => `${r[3]} ${r[4]}`)).toEqual([
      '554 5.7.1',
      '550 5.1.1',
      '450 4.2.0',
      '552 5.3.4',
      '530 5.7.0',
    ]);
    expect(failures.find((r) => r[3] === '550')?.[6]).toBe('nosuchuser@localhost');
    expect(dom).toContain('data-matching="5">5 of 5 failures');
    expect(rows(dom, 'session-row')).toHaveLength(4);
    // The charts drew from the data: 4 sessions and 5 failures over time; replies by class as the capture has
    // them (2xx: 220 x4, 221 x4, 250 x10; 3xx: 354 x2; 4xx: 450; 5xx: 530, 550, 552, 554).
    const time = bars(dom, 'chart-time');
    expect(time.filter((b) => b.cls === 'sessions').reduce((n, b) => n + b.value, 0)).toBe(4);
    expect(time.filter((b) => b.cls === 'failures bad').reduce((n, b) => n + b.value, 0)).toBe(5);
    expect(bars(dom, 'chart-reply-classes').map((b) => b.value)).toEqual([18, 2, 1, 4]);
    expect(bars(dom, 'chart-reasons').reduce((n, b) => n + b.value, 0)).toBe(5);
    expect(bars(dom, 'chart-recipients').length).toBeGreaterThan(0);

    // The filter from the address: the greylisted recipient's session, both of its refusals (terms match
    // sessions, as --where does), and that session's transcript.
    const greylisted = failures.find((r) => r[3] === '450')?.[1] as string;
    const filtered = browse(`#where=${encodeURIComponent('to:greylist')}&session=${greylisted}`, [
      '--dump-dom',
    ]);
    expect(rows(filtered, 'failure-row').map((r) => r[3])).toEqual(['550', '450']);
    expect(filtered).toContain('data-matching="2">2 of 5 failures');
    expect(filtered).toMatch(new RegExp(`id="transcript-title">Session ${greylisted} `));
    expect(filtered).toContain('RCPT TO:&lt;greylist@sink.test&gt;');
    expect(filtered).toMatch(/<span class="line reply c4">[^<]*S: 450 4\.2\.0 /);

    // A bad expression is refused with the command line's words, and the table stays as it was.
    const bad = browse(`#where=${encodeURIComponent('code:600')}`, ['--dump-dom']);
    const cli = parseFilter('code:600');
    expect(cli.ok).toBe(false);
    expect(bad).toContain(`<span id="filter-error">${cli.ok ? '' : cli.error}</span>`);
    expect(rows(bad, 'failure-row')).toHaveLength(5);

    // The picture for docs/REPORT.md.
    const shot = join(dir, 'report.png');
    browse('', [`--screenshot=${shot}`, '--window-size=1280,1600', '--hide-scrollbars']);
    const png = readPng(readFileSync(shot));
    expect([png.width, png.height]).toEqual([1280, 1600]);
    // The bars are on the picture: rows of pixels in the sessions' grey and the failures' red of the time chart
    // (the page's colours #b7c0cc and #d0453c), in the same band of the page, and the 2xx bars' green.
    const near = (c: number[], want: number[]) => c.every((v, i) => Math.abs(v - (want[i] as number)) <= 3);
    const rowsWith = (want: number[]) => {
      const ys: number[] = [];
      for (let y = 0; y < png.height; y++) {
        let n = 0;
        for (let x = 0; x < png.width; x++) if (near(png.rgb(x, y), want)) n++;
        if (n >= 50) ys.push(y);
      }
      return ys;
    };
    const grey = rowsWith([0xb7, 0xc0, 0xcc]);
    const red = rowsWith([0xd0, 0x45, 0x3c]);
    const green = rowsWith([0x3a, 0x9a, 0x50]);
    expect(grey.length).toBeGreaterThan(50);
    expect(red.length).toBeGreaterThan(50);
    expect(green.length).toBeGreaterThan(5);
    // The time chart's tallest failure bar (3) is taller than its tallest session bar (2), and both stand on
    // the same axis: the red rows start above the grey ones and end with them.
    expect(Math.min(...red)).toBeLessThan(Math.min(...grey));
    expect(
      Math.abs(Math.max(...grey.filter((y) => y < 800)) - Math.max(...red.filter((y) => y < 800))),
    ).toBeLessThanOrEqual(1);
    expect(statSync(shot).size).toBeGreaterThan(30_000);
    if (process.env['SMTPSCOPE_UPDATE_SCREENSHOT'] === '1')
      copyFileSync(shot, join(ROOT, 'docs', 'report.png'));
  });
});
