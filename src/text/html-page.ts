/**
 * The HTML report's page (docs/REPORT.md): one self-contained file (styles, script and data inline; a
 * Content-Security-Policy that allows no fetch at all), so it opens from an e-mail attachment. The headline
 * figures, the charts (html-charts.ts) and the server and domain tables are drawn here; the failures and
 * sessions tables and the transcripts are drawn in the page from the embedded data (html-script.ts).
 *
 * Escaping: text from the traffic is HTML-escaped where it is written into markup; the data travels as JSON in
 * a `<script type="application/json">` element with every `<` written as `\u003c` (so no `</script>` in the
 * traffic can end it), and the script puts it in the page with `textContent` only.
 */

import { replyMeaning } from '../model/reply-meaning.js';
import { safeText } from '../util/display-text.js';
import { formatBytes, formatDuration, isoMicros } from './format.js';
import { type BarDatum, barChart, escapeHtml, timeSeriesChart } from './html-charts.js';
import {
  type HtmlReport,
  MAX_HAYSTACK_CHARS,
  MAX_LINE_CHARS,
  MAX_TRANSCRIPT_LINES,
  type PageFailure,
  type PageSession,
} from './html-report-data.js';
import { filterScript, MAX_DRAWN_ROWS, PAGE_SCRIPT } from './html-script.js';
import type { Outcomes } from './summary.js';

/** Rows of the per-server and per-domain tables (the busiest first; the rest are counted). */
export const MAX_TABLE_ROWS = 100;
/** Reply codes charted (the most frequent). */
const MAX_CHARTED_CODES = 15;

/** JSON safe inside a `<script>` element: no `<` (so no `</script>`), no line separators. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Wire text for the page: made safe (no controls, no bidi overrides), then escaped for HTML. */
const wire = (text: string): string => escapeHtml(safeText(text));

const ms = (micros: number | null): string => (micros === null ? '-' : formatDuration(micros));

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2430;background:#f5f6f8}
header{background:#1d2a3a;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#c9d3df}
main{padding:12px 24px 40px}section{background:#fff;border:1px solid #dde2e8;border-radius:6px;margin:14px 0;padding:12px 16px}
h2{font-size:16px;margin:0 0 10px}.figures{display:flex;flex-wrap:wrap;gap:10px;margin:0}
.figure{border:1px solid #dde2e8;border-radius:6px;padding:8px 12px;min-width:110px;background:#fafbfc}
.figure dt{font-size:12px;color:#5b6675}.figure dd{margin:2px 0 0;font-size:20px;font-weight:600}
.figure.bad dd{color:#b3261e}.figure.warn dd{color:#a15c00}.figure.ok dd{color:#1e7a34}
.charts{display:flex;flex-wrap:wrap;gap:16px}figure.chart{margin:0}figure.chart figcaption{font-weight:600;margin-bottom:4px}
svg.chart text{font-size:12px;fill:#333}svg.chart .bar{fill:#8a94a3}svg.chart .bar.ok{fill:#3a9a50}svg.chart .bar.warn{fill:#e0a030}
svg.chart .bar.bad{fill:#d0453c}svg.chart .bar.info{fill:#4a78c0}svg.chart .bar.sessions{fill:#b7c0cc}svg.chart .axis{stroke:#888}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #e6e9ee;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#eef1f5;white-space:nowrap}th.sortable{cursor:pointer}th.sorted::after{content:" \\25B2"}th.sorted.desc::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}#failures td:first-child,#sessions td:first-child{white-space:nowrap}td.addr{word-break:break-all}td.text{max-width:420px}
tr.permanent td:nth-child(4){color:#b3261e;font-weight:600}tr.temporary td:nth-child(4){color:#a15c00;font-weight:600}
tr.failed td:nth-child(6){color:#b3261e}tr.partial td:nth-child(6){color:#a15c00}tr.delivered td:nth-child(6){color:#1e7a34}
.filterbar{display:flex;gap:8px;align-items:center;margin-bottom:8px}#filter{flex:1;font:13px ui-monospace,monospace;padding:5px}
#filter.invalid{outline:2px solid #d0453c}#filter-error{color:#b3261e}.count{color:#5b6675;margin:4px 0}.note{color:#5b6675}
#transcript pre{background:#101820;color:#d8dee6;padding:10px;overflow:auto;max-height:600px;font:12px/1.35 ui-monospace,monospace}
.line.command{color:#9cd3ff}.line.reply.c2,.line.reply.c3{color:#b5e8a8}.line.reply.c4{color:#ffd27a}.line.reply.c5{color:#ff9a90}
.line.meaning,.line.note{color:#a6b0bd}.line.anomaly{color:#ffb347}.line.header{color:#fff;font-weight:600}
.empty{color:#8a94a3}code{font-family:ui-monospace,monospace}
`;

function figure(label: string, value: string, tone: '' | 'ok' | 'warn' | 'bad' = ''): string {
  return `<div class="figure${tone === '' ? '' : ` ${tone}`}"><dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value)}</dd></div>`;
}

function headline(r: HtmlReport): string {
  const f = r.figures;
  const d = new Map(f.dispositions);
  const sum = (prefix: string): number =>
    [...d.entries()].filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);
  const span =
    f.firstMicros === null || f.lastMicros === null
      ? '-'
      : formatDuration(Math.max(0, f.lastMicros - f.firstMicros));
  return `<dl class="figures" id="headline">${[
    figure('sessions', String(f.sessions)),
    figure('transactions', String(f.transactions)),
    figure('recipients', String(f.recipients)),
    figure('delivered', String(d.get('delivered') ?? 0), 'ok'),
    figure('rejected', String(sum('rejected')), sum('rejected') > 0 ? 'bad' : ''),
    figure('deferred', String(sum('deferred')), sum('deferred') > 0 ? 'warn' : ''),
    figure('failures', String(r.failureCount), r.failureCount > 0 ? 'bad' : ''),
    figure('servers', String(f.servers.length)),
    figure('message bytes', formatBytes(f.messageBytes)),
    figure('packets', String(r.packets)),
    figure('capture bytes', formatBytes(r.bytes)),
    figure('time span', span),
  ].join('')}</dl>`;
}

const TONE_OF_CLASS: Record<string, BarDatum['tone']> = { '2': 'ok', '3': 'info', '4': 'warn', '5': 'bad' };

function charts(r: HtmlReport): string {
  const f = r.figures;
  const classes = new Map<string, number>();
  for (const [code, n] of f.replyCodes) {
    const key = code === 0 ? '(other)' : `${Math.floor(code / 100)}xx`;
    classes.set(key, (classes.get(key) ?? 0) + n);
  }
  const classData: BarDatum[] = [...classes.entries()]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([k, n]) => {
      const tone = TONE_OF_CLASS[k[0] ?? ''];
      return { label: k, value: n, ...(tone === undefined ? {} : { tone }) };
    });
  const codeData: BarDatum[] = [...f.replyCodes]
    .filter(([code]) => code !== 0)
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, MAX_CHARTED_CODES)
    .map(([code, n]) => {
      const meaning = replyMeaning({ code, enhancedStatus: null })?.codeMeaning ?? '';
      const tone = TONE_OF_CLASS[String(code)[0] ?? ''];
      return {
        label: `${code} ${meaning}`,
        value: n,
        title: `${code} (${meaning}): ${n} repl${n === 1 ? 'y' : 'ies'}`,
        ...(tone === undefined ? {} : { tone }),
      };
    });
  const reasonData: BarDatum[] = f.reasons.map((x) => ({
    label: x.reason,
    value: x.count,
    tone: 'bad' as const,
    title: `${x.reason}: ${x.count}${x.sample === '' ? '' : `, e.g. ${safeText(x.sample)}`}`,
  }));
  const dispositionData: BarDatum[] = f.dispositions.map(([k, n]) => ({
    label: k,
    value: n,
    tone:
      k === 'delivered'
        ? 'ok'
        : k.startsWith('rejected')
          ? 'bad'
          : k.startsWith('deferred')
            ? 'warn'
            : 'info',
  }));
  return `<div class="charts">${[
    barChart('chart-reply-classes', 'Replies by class', classData, 420),
    barChart('chart-reply-codes', 'Reply codes', codeData),
    barChart('chart-reasons', 'Failures by reason class', reasonData),
    barChart('chart-recipients', 'Recipients by outcome', dispositionData, 420),
  ].join('')}</div>`;
}

function outcomeCells(o: Readonly<Outcomes>): string {
  return [o.delivered, o.deferred, o.rejected, o.other].map((n) => `<td class="num">${n}</td>`).join('');
}

function more(total: number, shown: number, noun: string): string {
  return total > shown
    ? `<p class="note">${total - shown} more ${noun} not listed (the busiest ${shown} are).</p>`
    : '';
}

function serverTable(r: HtmlReport): string {
  const servers = r.figures.servers;
  const rows = servers
    .slice(0, MAX_TABLE_ROWS)
    .map(
      (s) =>
        `<tr><td>${escapeHtml(s.endpoint)}</td><td>${wire(s.name ?? '-')}</td><td>${escapeHtml(s.software)}</td><td class="num">${s.sessions}</td>${outcomeCells(s.outcomes)}<td class="num">${s.replies}</td><td class="num">${ms(s.p50)}</td><td class="num">${ms(s.p95)}</td><td class="num">${ms(s.max)}</td></tr>`,
    );
  return (
    `<table id="servers"><thead><tr><th>server</th><th>name</th><th>software</th><th>sessions</th><th>delivered</th><th>deferred</th><th>rejected</th><th>other</th><th>replies timed</th><th>p50</th><th>p95</th><th>max</th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
    more(servers.length, MAX_TABLE_ROWS, 'server(s)')
  );
}

function domainTable(r: HtmlReport): string {
  const domains = r.figures.domains;
  const rows = domains.slice(0, MAX_TABLE_ROWS).map((d) => {
    const l = r.domainLatency.get(d.domain);
    return `<tr><td>${wire(d.domain)}</td>${outcomeCells(d.outcomes)}<td class="num">${l?.replies ?? 0}</td><td class="num">${ms(l?.p50 ?? null)}</td><td class="num">${ms(l?.p95 ?? null)}</td><td class="num">${ms(l?.max ?? null)}</td></tr>`;
  });
  return (
    `<table id="domains"><thead><tr><th>recipient domain</th><th>delivered</th><th>deferred</th><th>rejected</th><th>other</th><th>RCPT replies timed</th><th>p50</th><th>p95</th><th>max</th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
    more(domains.length, MAX_TABLE_ROWS, 'domain(s)')
  );
}

/** The data the page's script reads: failures and sessions, wire text made safe. */
function pageData(r: HtmlReport): unknown {
  const failures = r.failures.map(
    (x): PageFailure => ({
      ...x,
      recipient: x.recipient === null ? null : safeText(x.recipient),
      from: x.from === null ? null : safeText(x.from),
      text: x.text === null ? null : safeText(x.text),
      explanation: safeText(x.explanation),
    }),
  );
  const sessions = r.sessions.map(
    (s): PageSession => ({
      ...s,
      helo: s.helo === null ? null : safeText(s.helo),
      subject: s.subject === null ? null : safeText(s.subject),
    }),
  );
  return { failures, sessions, maxSessions: r.maxSessions };
}

/** The whole page. */
export function renderHtmlPage(r: HtmlReport): string {
  const f = r.figures;
  const span =
    f.firstMicros === null || f.lastMicros === null
      ? 'no sessions'
      : `${isoMicros(f.firstMicros)} .. ${isoMicros(f.lastMicros)}`;
  const omitted =
    r.failuresOmitted > 0
      ? ` ${r.failuresOmitted} later failure(s) are counted in the figures and the chart but not listed (limit ${r.failures.length}).`
      : '';
  const keptNote = `Transcripts of ${r.sessionsKept} session(s) are kept (at most ${r.maxSessions}, --html-max-sessions; sessions with a failure first); each at most ${MAX_TRANSCRIPT_LINES} lines of ${MAX_LINE_CHARS} characters.`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>smtpscope report: ${wire(r.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>smtpscope report</h1><p>${wire(r.title)} · ${escapeHtml(span)}</p></header>
<main>
<section id="summary"><h2>Headline</h2>${headline(r)}</section>
<section id="over-time"><h2>Sessions and failures over time</h2>${timeSeriesChart('chart-time', 'Sessions started and failures, per interval', r.timeSeries.buckets, r.timeSeries.widthMicros)}</section>
<section id="failures-section"><h2>Failures</h2>
<div class="filterbar"><label for="filter">Filter</label><input id="filter" type="search" spellcheck="false" placeholder="code:5xx to:bob@ reason:grey -ip:10.1. (the --where language)"><span id="filter-error"></span></div>
<p class="note">Filter terms match sessions, as <code>--where</code> does: a failure is shown when its session matches. Keys: code, reason, ip, domain, from, to, helo, server, end; plain words search the session's text (its first ${MAX_HAYSTACK_CHARS} characters); <code>-term</code> negates. Click a column title to sort, a session to read its transcript.${omitted}</p>
<p class="count" id="failures-count"></p>
<table id="failures"><thead><tr></tr></thead><tbody id="failures-body"></tbody></table>
<noscript><p class="note">The failures and sessions tables need scripts enabled.</p></noscript>
</section>
<section id="transcript" hidden><h2 id="transcript-title"></h2><button id="transcript-close" type="button">close</button><pre id="transcript-lines"></pre></section>
<section id="classes"><h2>Replies and failures</h2>${charts(r)}</section>
<section id="per-server"><h2>Per server</h2><p class="note">Recipients by outcome; reply latency is the time from each command to its reply.</p>${serverTable(r)}</section>
<section id="per-domain"><h2>Per recipient domain</h2><p class="note">Recipients by outcome; latency is the time from RCPT TO to its reply.</p>${domainTable(r)}</section>
<section id="sessions-section"><h2>Sessions (kept sample)</h2><p class="note">${escapeHtml(keptNote)} At most ${MAX_DRAWN_ROWS} rows are drawn per table.</p>
<p class="count" id="sessions-count"></p>
<table id="sessions"><thead><tr></tr></thead><tbody id="sessions-body"></tbody></table>
</section>
</main>
<script type="application/json" id="report-data">${scriptJson(pageData(r))}</script>
<script>${filterScript()}${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
