/**
 * The HTML report's script, inlined in the page (no network fetch). Two parts:
 *
 *  - {@link filterScript}: the `--where` filter language (query/filter.ts, docs/FILTERS.md): the command line's
 *    own functions, carried as their source text, evaluated over the facts the report keeps per session
 *    (query/filter.ts `FilterFacts`). It defines `parseFilter(text)` and `matchFacts(terms, facts)`; a unit
 *    test loads it from the page's script text and runs it beside the command line's filter on real sessions
 *    and expressions, expecting the same answers.
 *  - {@link PAGE_SCRIPT}: the failures and sessions tables (sorted by a click on a column title, filtered by the
 *    filter box), and a session's transcript on demand. Every value from the traffic reaches the page through
 *    `textContent`, never as markup. The address's fragment sets the filter and opens a transcript:
 *    `report.html#where=code:5xx&session=C000002`.
 */

import { FILTER_KEYS, FILTER_REASONS, PAGE_FILTER_FUNCTIONS } from '../query/filter.js';

/** Rows drawn at most per table (the rest are counted: refine the filter to see them). */
export const MAX_DRAWN_ROWS = 2000;

/**
 * The filter language as the page runs it: the command line's own parsing and matching functions
 * (query/filter.ts `PAGE_FILTER_FUNCTIONS`), as their source text, after the keys and reason classes they read.
 */
export function filterScript(): string {
  return [
    `var FILTER_KEYS = new Set(${JSON.stringify([...FILTER_KEYS])});`,
    `var FILTER_REASONS = ${JSON.stringify(FILTER_REASONS)};`,
    ...PAGE_FILTER_FUNCTIONS.map((f) => f.toString()),
    '',
  ].join('\n');
}

/** The page's behaviour: tables, filter box, transcripts. Runs once the document is parsed (at the end of body). */
export const PAGE_SCRIPT = `
(function () {
  'use strict';
  var MAX_ROWS = ${MAX_DRAWN_ROWS};
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var byId = {};
  data.sessions.forEach(function (s) { byId[s.id] = s; });
  var kept = data.sessions.filter(function (s) { return s.transcript !== null; });
  var terms = [];

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function sessionLink(id) {
    var a = el('a', 'session-link', id);
    a.href = '#session=' + encodeURIComponent(id);
    return a;
  }

  function table(spec) {
    var state = { key: spec.sortKey, dir: spec.sortDir };
    var head = document.querySelector('#' + spec.id + ' thead tr');
    var body = document.querySelector('#' + spec.id + ' tbody');
    var count = document.getElementById(spec.id + '-count');
    spec.columns.forEach(function (c) {
      var th = el('th', 'sortable', c.title);
      th.dataset.key = c.key;
      th.addEventListener('click', function () {
        state.dir = state.key === c.key ? -state.dir : 1;
        state.key = c.key;
        draw();
      });
      head.appendChild(th);
    });
    function value(row, key) {
      var c = spec.columns.find(function (x) { return x.key === key; });
      return c.get(row);
    }
    function draw() {
      var rows = spec.rows.filter(function (r) {
        var s = byId[spec.sessionOf(r)];
        return s !== undefined && matchFacts(terms, s.facts);
      });
      rows.sort(function (a, b) {
        var x = value(a, state.key), y = value(b, state.key);
        if (x === y) return 0;
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        return (x < y ? -1 : 1) * state.dir;
      });
      Array.prototype.forEach.call(head.children, function (th) {
        th.classList.toggle('sorted', th.dataset.key === state.key);
        th.classList.toggle('desc', th.dataset.key === state.key && state.dir < 0);
      });
      var fresh = document.createElement('tbody');
      rows.slice(0, MAX_ROWS).forEach(function (r) {
        var tr = el('tr', spec.rowClass(r));
        spec.columns.forEach(function (c) {
          var td = el('td', c.cls || '');
          var v = c.get(r);
          if (c.link) td.appendChild(sessionLink(v));
          else td.textContent = v === null || v === undefined ? '' : String(v);
          tr.appendChild(td);
        });
        fresh.appendChild(tr);
      });
      fresh.id = body.id;
      body.parentNode.replaceChild(fresh, body);
      body = fresh;
      count.textContent = rows.length + ' of ' + spec.rows.length + ' ' + spec.noun +
        (rows.length > MAX_ROWS ? ' (the first ' + MAX_ROWS + ' drawn: refine the filter)' : '');
      count.dataset.matching = String(rows.length);
    }
    return { draw: draw };
  }

  var failures = table({
    id: 'failures', noun: 'failures', rows: data.failures, sortKey: 'tsMicros', sortDir: 1,
    sessionOf: function (r) { return r.session; },
    rowClass: function (r) { return 'failure-row ' + r.severity; },
    columns: [
      { key: 'tsMicros', title: 'time (UTC)', get: function (r) { return r.time.slice(0, 23).replace('T', ' '); } },
      { key: 'session', title: 'session', link: true, get: function (r) { return r.session; } },
      { key: 'stage', title: 'stage', get: function (r) { return r.stage; } },
      { key: 'code', title: 'code', get: function (r) { return r.code; } },
      { key: 'status', title: 'status', get: function (r) { return r.status; } },
      { key: 'reason', title: 'reason', get: function (r) { return r.reason; } },
      { key: 'recipient', title: 'recipient', cls: 'addr', get: function (r) { return r.recipient; } },
      { key: 'from', title: 'sender', cls: 'addr', get: function (r) { return r.from; } },
      { key: 'server', title: 'server', get: function (r) { return r.server; } },
      { key: 'text', title: 'reply / explanation', cls: 'text', get: function (r) { return r.text === null ? r.explanation : r.text; } }
    ]
  });
  var sessionsTable = table({
    id: 'sessions', noun: 'sessions', rows: kept, sortKey: 'start', sortDir: 1,
    sessionOf: function (s) { return s.id; },
    rowClass: function (s) { return 'session-row ' + s.outcome; },
    columns: [
      { key: 'start', title: 'start (UTC)', get: function (s) { return s.start.slice(0, 23).replace('T', ' '); } },
      { key: 'id', title: 'session', link: true, get: function (s) { return s.id; } },
      { key: 'client', title: 'client', get: function (s) { return s.client; } },
      { key: 'server', title: 'server', get: function (s) { return s.server; } },
      { key: 'helo', title: 'HELO', cls: 'addr', get: function (s) { return s.helo; } },
      { key: 'outcome', title: 'outcome', get: function (s) { return s.outcome; } },
      { key: 'recipients', title: 'rcpts', get: function (s) { return s.recipients; } },
      { key: 'failed', title: 'failed', get: function (s) { return s.failed; } },
      { key: 'ended', title: 'ended', get: function (s) { return s.ended; } },
      { key: 'subject', title: 'subject', cls: 'text', get: function (s) { return s.subject; } }
    ]
  });

  var box = document.getElementById('filter');
  var problem = document.getElementById('filter-error');
  function applyFilter(text, fromHash) {
    var parsed = parseFilter(text);
    if (!parsed.ok) {
      // The tables keep the last good filter's rows (every row, when none was good yet).
      problem.textContent = parsed.error;
      box.classList.add('invalid');
      if (!drawn) redraw();
      return;
    }
    problem.textContent = '';
    box.classList.remove('invalid');
    terms = parsed.filter.terms;
    redraw();
    if (!fromHash) setHash();
  }
  var drawn = false;
  function redraw() {
    failures.draw();
    sessionsTable.draw();
    drawn = true;
  }
  var shown = null;
  function showTranscript(id) {
    var panel = document.getElementById('transcript');
    var title = document.getElementById('transcript-title');
    var pre = document.getElementById('transcript-lines');
    pre.textContent = '';
    var s = byId[id];
    shown = s === undefined ? null : id;
    panel.hidden = false;
    if (s === undefined || s.transcript === null) {
      title.textContent = 'Session ' + id;
      pre.appendChild(el('span', 'line note', s === undefined
        ? 'This session is not in the report.'
        : 'Transcript not kept: the report keeps the transcripts of ' + data.maxSessions +
          ' sessions (--html-max-sessions); run smtpscope transcript --session ' + id + ' on the capture.'));
      return;
    }
    title.textContent = 'Session ' + s.id + '  ' + s.client + ' \\u2192 ' + s.server;
    s.transcript.forEach(function (l) {
      var cls = 'line ' + l[0];
      if (l[0] === 'reply') { var m = /S: (\\d)/.exec(l[1]); if (m) cls += ' c' + m[1]; }
      pre.appendChild(el('span', cls, l[1]));
      pre.appendChild(document.createTextNode('\\n'));
    });
    panel.scrollIntoView();
  }
  function setHash() {
    var parts = [];
    if (box.value.trim() !== '') parts.push('where=' + encodeURIComponent(box.value.trim()));
    if (shown !== null) parts.push('session=' + encodeURIComponent(shown));
    try { history.replaceState(null, '', parts.length ? '#' + parts.join('&') : location.pathname); } catch (e) { /* a file: page may refuse */ }
  }
  function readHash() {
    var where = null, session = null;
    location.hash.replace(/^#/, '').split('&').forEach(function (p) {
      var eq = p.indexOf('=');
      if (eq < 0) return;
      var k = p.slice(0, eq), v;
      try { v = decodeURIComponent(p.slice(eq + 1).replace(/\\+/g, ' ')); } catch (e) { return; }
      if (k === 'where') where = v;
      if (k === 'session') session = v;
    });
    if (where !== null && where !== box.value) box.value = where;
    applyFilter(box.value, true);
    if (session !== null) showTranscript(session);
    // A session link replaced the fragment: put the filter back in it.
    setHash();
  }
  var timer = null;
  box.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () { applyFilter(box.value, false); }, 150);
  });
  document.getElementById('transcript-close').addEventListener('click', function () {
    document.getElementById('transcript').hidden = true;
    shown = null;
    setHash();
  });
  window.addEventListener('hashchange', readHash);
  readHash();
  document.body.dataset.ready = 'yes';
})();
`;
