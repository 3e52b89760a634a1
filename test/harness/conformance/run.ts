/**
 * `npm run conformance -- [DIR] [--write-doc | --check-doc] [--timeout-ms N] [--only TEXT] [--no-tshark] [--draft]`:
 * analyses every peer capture, compares the sessions with each peer's expected output, judges every
 * difference against test/conformance/expectations.json, prints a compact table and a final line
 * `conformance: N captures, N agree, N recorded differences, N failures`, and exits 1 on any failure
 * (unrecorded difference, stale entry, crash, timeout, lost session, tshark no longer giving the stored rows, a test or log tied to no capture).
 * `--check-doc` also fails when docs/CONFORMANCE.md is not what the run renders (CI). `--draft` prints the unrecorded differences as expectation entries to review (reasons left to write).
 */

import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../repo-root.js';
import { compareArkime, parseArkimeTest } from './arkime-compare.js';
import { analyzeInWorker, type CaptureOutcome } from './capture-runner.js';
import { type CaptureReport, renderConformanceDoc } from './conformance-doc.js';
import { type Expectation, judge, parseExpectations } from './expectations.js';
import { type Finding, finding } from './finding.js';
import { listPeerCaptures, type PeerCapture } from './peer-captures.js';
import { compareNdpi, compareZeekConn, parseNdpiFlows } from './peer-flows.js';
import { compareSuricata } from './suricata-compare.js';
import { compareTshark } from './tshark-compare.js';
import { parseTsharkRows, runTsharkFields, sameRows, tsharkAvailable } from './tshark-fields.js';
import { compareZeek } from './zeek-compare.js';
import { parseZeekLog } from './zeek-log.js';

interface Options {
  dir: string;
  writeDoc: boolean;
  checkDoc: boolean;
  timeoutMs: number;
  only: string | null;
  tshark: boolean;
  draft: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = {
    dir: resolve(REPO_ROOT, '../shared/captures/peer'),
    writeDoc: false,
    checkDoc: false,
    timeoutMs: 30_000,
    only: null,
    tshark: true,
    draft: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--write-doc') o.writeDoc = true;
    else if (a === '--check-doc') o.checkDoc = true;
    else if (a === '--no-tshark') o.tshark = false;
    else if (a === '--draft') o.draft = true;
    else if (a === '--timeout-ms') o.timeoutMs = Number(argv[++i]);
    else if (a === '--only') o.only = argv[++i] ?? null;
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else o.dir = a;
  }
  return o;
}

interface Checked {
  readonly capture: PeerCapture;
  readonly outcome: CaptureOutcome;
  readonly findings: Finding[];
  readonly notCompared: ReadonlySet<string>;
  readonly skippedCounts: readonly string[];
  readonly tsharkLive: 'same' | 'differs' | 'not-run';
}

/**
 * A worker that could not load smtpscope's modules (the build was being rewritten while the run read it: a
 * missing export, a missing file, or an exit before any answer) is run once more; any other crash stands.
 */
const LOAD_FAILURE =
  /SyntaxError: The requested module|ERR_MODULE_NOT_FOUND|Cannot find module|exited with code \d+ before answering/;

async function analyzeOnce(c: PeerCapture, timeoutMs: number): Promise<CaptureOutcome> {
  const first = await analyzeInWorker(c.path, c.ports, timeoutMs);
  if (first.kind !== 'crash' || !LOAD_FAILURE.test(first.detail)) return first;
  await new Promise((resolve) => setTimeout(resolve, 2000));
  return analyzeInWorker(c.path, c.ports, timeoutMs);
}

async function checkCapture(c: PeerCapture, o: Options, liveTshark: boolean): Promise<Checked> {
  const [outcome, live] = await Promise.all([
    analyzeOnce(c, o.timeoutMs),
    liveTshark ? runTsharkFields(c.path, c.extraPort, o.timeoutMs, false) : Promise.resolve(null),
  ]);
  // Run as the stored dump was made (sequence analysis on), only to check that tshark still gives it.
  const reference =
    liveTshark && c.tsharkTsv !== null ? await runTsharkFields(c.path, c.extraPort, o.timeoutMs, true) : null;
  const findings: Finding[] = [];
  let notCompared: ReadonlySet<string> = new Set();
  let skippedCounts: readonly string[] = [];
  let tsharkLive: Checked['tsharkLive'] = 'not-run';
  if (outcome.kind === 'ok') {
    const sessions = outcome.sessions;
    for (const log of c.zeekLogs)
      findings.push(...compareZeek(c.name, parseZeekLog(await readFile(log, 'utf8')), sessions));
    for (const log of c.zeekConnLogs)
      findings.push(...compareZeekConn(c.name, parseZeekLog(await readFile(log, 'utf8')), sessions));
    if (c.ndpiOut !== null)
      findings.push(...compareNdpi(c.name, parseNdpiFlows(await readFile(c.ndpiOut, 'utf8')), sessions));
    if (c.suricataTests.length > 0) {
      const r = compareSuricata(c.name, c.suricataTests, sessions);
      findings.push(...r.findings);
      notCompared = r.notCompared;
      skippedCounts = r.skippedCounts;
    }
    if (c.arkimeTest !== null)
      findings.push(
        ...compareArkime(c.name, parseArkimeTest(await readFile(c.arkimeTest, 'utf8')), sessions),
      );
    const liveRows = live === null ? null : parseTsharkRows(live);
    if (c.tsharkTsv !== null) {
      const stored = parseTsharkRows(await readFile(c.tsharkTsv, 'utf8'));
      if (reference !== null) tsharkLive = sameRows(stored, parseTsharkRows(reference)) ? 'same' : 'differs';
      // The live rows (sequence analysis off) carry the stream and ports; without tshark, the stored rows.
      findings.push(...compareTshark(c.name, liveRows ?? stored, sessions));
    } else if (liveRows !== null) {
      findings.push(...compareTshark(c.name, liveRows, sessions));
      tsharkLive = 'same';
    }
  }
  // A capture nothing could be compared on is a failure unless an expectation records why.
  if (outcome.kind === 'ok' && findings.length === 0)
    findings.push(finding(c.name, 'index', 'compared', 'nothing', 'some peer output'));
  return { capture: c, outcome, findings, notCompared, skippedCounts, tsharkLive };
}

/**
 * Zeek logs the folder index ties to no capture: each is compared with the one Zeek capture whose sessions
 * hold the endpoints of its rows. A log that fits no capture, or several, fails the run (it would be ignored).
 */
async function placeZeekLogs(logs: readonly string[], results: readonly Checked[]): Promise<string[]> {
  const problems: string[] = [];
  for (const log of logs) {
    const rows = parseZeekLog(await readFile(log, 'utf8'));
    const name = basename(log);
    const fits = results.filter(
      (r) =>
        r.capture.source === 'zeek' &&
        r.outcome.kind === 'ok' &&
        rows.length > 0 &&
        rows.every((row) =>
          r.outcome.kind === 'ok'
            ? r.outcome.sessions.some(
                (s) => s.client.ip === row['id.orig_h'] && String(s.client.port) === row['id.orig_p'],
              )
            : false,
        ),
    );
    const only = fits[0];
    if (fits.length !== 1 || only === undefined) {
      problems.push(
        `zeek/${name}: maps to ${fits.length === 0 ? 'no capture' : `${fits.length} captures`} (not in the index, endpoints ${fits.length === 0 ? 'match none' : 'ambiguous'})`,
      );
      continue;
    }
    if (only.outcome.kind !== 'ok') continue;
    only.findings.push(
      ...(name.endsWith('__conn.log')
        ? compareZeekConn(only.capture.name, rows, only.outcome.sessions)
        : compareZeek(only.capture.name, rows, only.outcome.sessions)),
    );
  }
  return problems;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      const item = items[i];
      if (item !== undefined) out[i] = await fn(item);
    }
  });
  await Promise.all(workers);
  return out;
}

const crashLine = (detail: string): string => {
  const lines = detail.split('\n');
  return lines.find((l) => /Error\b/.test(l)) ?? lines[0] ?? '';
};

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));

export async function runConformance(argv: readonly string[]): Promise<number> {
  const o = parseArgs(argv);
  if (!existsSync(o.dir)) {
    console.error(`conformance: peer capture folder ${o.dir} not found`);
    return 2;
  }
  const repoRoot = `${REPO_ROOT}/`;
  const expectationsPath = `${repoRoot}test/conformance/expectations.json`;
  if (!existsSync(expectationsPath)) {
    console.error(`conformance: ${expectationsPath} not found`);
    return 2;
  }
  const expectations: Expectation[] = parseExpectations(await readFile(expectationsPath, 'utf8'));
  const folder = await listPeerCaptures(o.dir);
  let captures = folder.captures;
  if (o.only !== null) captures = captures.filter((c) => c.name.includes(o.only ?? ''));
  const live = o.tshark && (await tsharkAvailable());
  const results = await mapLimit(captures, 2, (c) => checkCapture(c, o, live));

  const failures: string[] = [...folder.problems];
  if (o.only === null) failures.push(...(await placeZeekLogs(folder.unmappedZeekLogs, results)));
  const reports: CaptureReport[] = [];
  const notCompared = new Set<string>();
  const skippedCounts = results.flatMap((r) => r.skippedCounts.map((s) => `${r.capture.name} ${s}`));
  const allFindings = results.flatMap((r) => r.findings);
  const { judged, stale } = judge(allFindings, expectations, new Set(results.map((r) => r.capture.name)));
  let agreeCaptures = 0;
  let recorded = 0;
  console.log(
    `${pad('capture', 62)} ${pad('sessions', 8)} ${pad('checks', 6)} ${pad('agree', 5)} ${pad('recorded', 8)} failed`,
  );
  for (const r of results) {
    for (const k of r.notCompared) notCompared.add(k);
    const mine = judged.filter((j) => j.finding.capture === r.capture.name);
    const status = r.outcome.kind;
    if (r.outcome.kind === 'crash')
      failures.push(`${r.capture.name}: smtpscope crashed: ${crashLine(r.outcome.detail)}`);
    if (r.outcome.kind === 'timeout')
      failures.push(`${r.capture.name}: smtpscope did not finish within ${o.timeoutMs} ms`);
    if (r.tsharkLive === 'differs')
      failures.push(
        `${r.capture.name}: tshark (installed) no longer gives the stored rows (command, parameter, reply codes)`,
      );
    let bad = r.outcome.kind === 'ok' ? 0 : 1;
    let acc = 0;
    for (const j of mine) {
      if (j.finding.agree) continue;
      if (j.accepted !== null) {
        acc++;
        continue;
      }
      bad++;
      const what = j.finding.lostSession === true ? 'lost session' : 'unrecorded difference';
      failures.push(
        `${r.capture.name}: ${what} ${j.finding.peer} ${j.finding.check}: ours ${JSON.stringify(j.finding.ours)}, theirs ${JSON.stringify(j.finding.theirs)}`,
      );
    }
    if (r.tsharkLive === 'differs') bad++;
    recorded += acc;
    const agreeing = mine.filter((j) => j.finding.agree).length;
    if (status === 'ok' && agreeing === mine.length) agreeCaptures++;
    const sessions = r.outcome.kind === 'ok' ? String(r.outcome.sessions.length) : status;
    console.log(
      `${pad(r.capture.name, 62)} ${pad(sessions, 8)} ${pad(String(mine.length), 6)} ${pad(String(agreeing), 5)} ${pad(String(acc), 8)} ${bad}`,
    );
    reports.push({
      capture: r.capture.name,
      status,
      sessions: r.outcome.kind === 'ok' ? r.outcome.sessions.length : 0,
      judged: mine,
    });
  }
  for (const s of stale)
    failures.push(
      `${s.capture}: stale expectation (the difference no longer occurs) ${s.peer} ${s.check}: ${s.reason}`,
    );
  if (failures.length > 0) {
    console.log('\nfailures:');
    for (const f of failures) console.log(`  ${f}`);
  }
  if (o.draft) {
    const drafts = judged
      .filter((j) => !j.finding.agree && j.accepted === null && j.finding.lostSession !== true)
      .map((j) => ({
        capture: j.finding.capture,
        peer: j.finding.peer,
        check: j.finding.check,
        ours: j.finding.ours,
        theirs: j.finding.theirs,
        reason: '',
      }));
    console.log(JSON.stringify(drafts, null, 2));
  }
  const summary = `conformance: ${results.length} captures, ${agreeCaptures} agree, ${recorded} recorded differences, ${failures.length} failures`;
  if (!live && o.tshark) console.log('(tshark not installed: compared with the stored tshark dumps only)');
  const docPath = `${repoRoot}docs/CONFORMANCE.md`;
  const doc = renderConformanceDoc(reports, notCompared, summary, skippedCounts);
  if (o.writeDoc) {
    await writeFile(docPath, doc);
    console.log('wrote docs/CONFORMANCE.md');
  }
  let docStale = false;
  if (o.checkDoc && !o.writeDoc && o.only === null) {
    const committed = existsSync(docPath) ? await readFile(docPath, 'utf8') : '';
    if (committed !== doc) {
      docStale = true;
      const a = committed.split('\n');
      const b = doc.split('\n');
      const at = a.findIndex((line, i) => line !== b[i]);
      const line = at < 0 ? Math.min(a.length, b.length) + 1 : at + 1;
      console.log(
        `\nconformance: docs/CONFORMANCE.md is stale (first difference at line ${line}: committed ${JSON.stringify(a[line - 1] ?? '')}, run renders ${JSON.stringify(b[line - 1] ?? '')}); regenerate it with npm run conformance -- --write-doc and commit it`,
      );
    }
  }
  console.log(summary);
  return failures.length === 0 && !docStale ? 0 : 1;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  runConformance(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exitCode = 2;
    },
  );
}
