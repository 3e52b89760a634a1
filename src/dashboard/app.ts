/**
 * The terminal dashboard: wires the blessed screen, the keys and one timer.
 *
 * Data flow: the analyzer hands closed sessions to `sink` (kept in a bounded window); every tick (4 Hz) the
 * app pulls `analyzer.snapshot()`, maps everything with the pure `toDashboardModel`, updates each widget
 * and calls `screen.render()` once. Keys change the interface state and draw one frame at once. Nothing
 * here runs per packet. While a file is read the screen shows progress; the dashboard opens when the run
 * ends. `q`, Ctrl-C, SIGINT and SIGTERM stop the analyzer if it still runs, wait until every sink is
 * flushed, restore the terminal and resolve the exit code (0; 1 when the run itself failed). A second one
 * while that goes on leaves at once (quit-control.ts: 143 after SIGTERM, else 130).
 */

import { openSync } from 'node:fs';
import { join } from 'node:path';
import { ReadStream } from 'node:tty';
import blessed from 'blessed';
import type { RunStats, RunSummary, Sink } from '../model/sink.js';
import type { Analyzer } from '../pipeline/analyzer.js';
import { parseFilter } from '../query/filter.js';
import { createCsvSink } from '../report/csv-sink.js';
import { createQuitControl } from './quit-control.js';
import { createSessionWindow, LIVE_WINDOW, OFFLINE_WINDOW, windowFeeds } from './session-window.js';
import { activate, clickAnomaly, moveAnomalyCursor, pressSort, reverseSort, sortBy } from './ui-actions.js';
import {
  type ClosedView,
  createViewMemo,
  type DashboardModel,
  INITIAL_UI_STATE,
  NO_OPEN_SESSIONS,
  PANEL_ORDER,
  type RunView,
  type ScrollPanel,
  toDashboardModel,
  type UiState,
} from './view-model.js';
import { createFilterPrompt } from './widgets/filter-prompt.js';
import { createSessionsTable } from './widgets/sessions-table.js';
import { createTextLine } from './widgets/text-line.js';
import { createTextPanel } from './widgets/text-panel.js';

export interface DashboardOptions {
  readonly live: boolean;
  /** The source, shown in the header (file names or the interface). */
  readonly title: string;
  /** Closed sessions kept (default 5,000 live, 50,000 for files). */
  readonly windowLimit?: number;
  /** Milliseconds between frames (default 250). */
  readonly tickMs?: number;
  /**
   * Total bytes of the input files when known before reading (regular, uncompressed files): the progress
   * box then shows a bar, a percentage and the time left. Null or absent: no bar.
   */
  readonly inputBytes?: number | null;
  /** Times in UTC (--utc); default: local time, the zone named in the sessions label. */
  readonly utc?: boolean;
  /** Sessions also come through `joinedSink` after the --maillog join (see there). */
  readonly joined?: boolean;
}

export interface Dashboard {
  /** Sessions as they close. */
  readonly sink: Sink;
  /**
   * The same sessions after the --maillog join (with the recipients' fates): each takes the place of its copy
   * from `sink`, or is kept when it comes first (capture files: the join hands it on at once).
   */
  readonly joinedSink: Sink;
  run(analyzer: Analyzer): Promise<number>;
}

/** Rates over the last few seconds of wall time, from counter samples taken each tick. */
function createRateMeter(windowMs: number) {
  const samples: { atMs: number; packets: number; bytes: number }[] = [];
  return {
    sample(
      atMs: number,
      packets: number,
      bytes: number,
    ): { packetsPerSecond: number; bytesPerSecond: number } {
      samples.push({ atMs, packets, bytes });
      while (samples.length > 2 && (samples[0]?.atMs ?? atMs) < atMs - windowMs) samples.shift();
      const first = samples[0];
      if (first === undefined || atMs - first.atMs <= 0) return { packetsPerSecond: 0, bytesPerSecond: 0 };
      const seconds = (atMs - first.atMs) / 1000;
      return {
        packetsPerSecond: (packets - first.packets) / seconds,
        bytesPerSecond: (bytes - first.bytes) / seconds,
      };
    },
  };
}

function exportStamp(now: Date): string {
  return now.toISOString().replace(/[:.]/g, '-');
}

export function createDashboard(options: DashboardOptions): Dashboard {
  const window = createSessionWindow(options.windowLimit ?? (options.live ? LIVE_WINDOW : OFFLINE_WINDOW));
  let summary: RunSummary | null = null;
  const feeds = windowFeeds(window, options.joined === true);
  const sink: Sink = {
    name: 'dashboard',
    sessionClosed: feeds.closed,
    async close(s) {
      summary = s;
    },
  };
  const joinedSink: Sink = { name: 'dashboard-joined', sessionClosed: feeds.joined, async close() {} };

  async function run(analyzer: Analyzer): Promise<number> {
    const startedMs = Date.now();
    let phase: RunView['phase'] = 'reading';
    let runError: string | null = null;
    const finished = analyzer.run().then(
      (s) => {
        summary = s;
        phase = 'finished';
      },
      (error: unknown) => {
        phase = 'failed';
        runError = error instanceof Error ? error.message : String(error);
      },
    );

    const input = keyboardInput();
    const screen = blessed.screen({
      ...(input === undefined ? {} : { input }),
      smartCSR: true,
      fullUnicode: true,
      autoPadding: false,
      warnings: false,
      title: `smtpscope ${options.title}`,
      ignoreLocked: ['C-c'],
    });
    // On a UTF-8 terminal draw borders with Unicode box characters, not the alternate character set, so
    // the screen reads the same in a terminal multiplexer's copy of it.
    const tput = (screen as unknown as { tput?: { unicode?: boolean; brokenACS?: boolean } }).tput;
    if (tput?.unicode === true) tput.brokenACS = true;
    const header = createTextLine(screen);
    const sessions = createSessionsTable(screen, {
      onClickRow(index) {
        if (ui.detailOpen || ui.helpOpen) return;
        const id = model?.orderedIds[index];
        if (id === undefined) return;
        if (id === model?.orderedIds[model.selectedIndex] && ui.focus === 'sessions' && model !== null)
          ui = activate(ui, model);
        else ui = { ...ui, selectedId: id, focus: 'sessions' };
        draw();
      },
      onClickTitle(sort) {
        if (ui.detailOpen || ui.helpOpen) return;
        ui = sortBy(ui, sort);
        draw();
      },
      onWheel(delta) {
        if (ui.detailOpen || ui.helpOpen) return;
        moveSelection(delta);
        draw();
      },
    });
    const replies = createTextPanel(screen);
    const failures = createTextPanel(screen);
    const top = createTextPanel(screen);
    const anomalies = createTextPanel(screen);
    const status = createTextLine(screen);
    const progress = createTextPanel(screen, { overlay: true });
    const detail = createTextPanel(screen, { overlay: true });
    const help = createTextPanel(screen, { overlay: true });
    const prompt = createFilterPrompt(screen);
    const panels: Readonly<Record<ScrollPanel, ReturnType<typeof createTextPanel>>> = {
      replies,
      failures,
      top,
      anomalies,
    };
    for (const [id, panel] of Object.entries(panels) as [ScrollPanel, ReturnType<typeof createTextPanel>][]) {
      panel.element.on('click', (data: blessed.Widgets.Events.IMouseEventArg) => {
        if (ui.detailOpen || ui.helpOpen) return;
        // The anomaly log: a click puts its cursor on the entry, a click on the cursor opens its session.
        if (id === 'anomalies' && model !== null)
          ui = clickAnomaly(ui, model, data.y - (panel.element.atop as number) - 1);
        else ui = { ...ui, focus: id };
        draw();
      });
      panel.element.on('wheeldown', () => (id === 'anomalies' ? moveAnomalies(1) : scrollPanel(id, 1)));
      panel.element.on('wheelup', () => (id === 'anomalies' ? moveAnomalies(-1) : scrollPanel(id, -1)));
    }
    detail.element.on('wheeldown', () => scrollDetail(3));
    detail.element.on('wheelup', () => scrollDetail(-3));

    let ui: UiState = { ...INITIAL_UI_STATE, panelScroll: { ...INITIAL_UI_STATE.panelScroll } };
    let model: DashboardModel | null = null;
    const memo = createViewMemo();
    const rates = createRateMeter(3000);
    let frozen: { run: RunView; closed: ClosedView } | null = null;

    const currentRun = (): RunView => {
      const done = phase !== 'reading';
      const snapshot = analyzer.snapshot();
      const stats: RunStats = summary !== null && done ? summary.stats : snapshot.stats;
      const nowMs = Date.now();
      const elapsedMs = done && summary !== null ? summary.wallMs : nowMs - startedMs;
      let rate = rates.sample(nowMs, stats.source.packets, stats.source.bytes);
      if (done && !options.live && elapsedMs > 0)
        rate = {
          packetsPerSecond: (stats.source.packets * 1000) / elapsedMs,
          bytesPerSecond: (stats.source.bytes * 1000) / elapsedMs,
        };
      return {
        live: options.live,
        utc: options.utc === true,
        title: options.title,
        phase,
        stats,
        open: done || snapshot.open.length === 0 ? NO_OPEN_SESSIONS : snapshot.open,
        elapsedMs,
        ...rate,
        error: runError,
        inputBytes: options.inputBytes ?? null,
      };
    };

    function draw(): void {
      if (screenGone) return;
      let runView: RunView;
      let closed: ClosedView;
      if (ui.paused && frozen !== null) {
        runView = { ...frozen.run, phase: phase === 'failed' ? 'failed' : frozen.run.phase, error: runError };
        closed = frozen.closed;
      } else {
        runView = currentRun();
        closed = window;
      }
      const width = typeof screen.width === 'number' ? screen.width : 80;
      const height = typeof screen.height === 'number' ? screen.height : 24;
      model = toDashboardModel(runView, closed, ui, width, height, memo);
      if (model.sessions.top !== ui.sessionsTop) ui = { ...ui, sessionsTop: model.sessions.top };
      header.update(model.header.rect, model.header.lines);
      status.update(model.status.rect, [model.status.line]);
      const dashboard = model.view === 'dashboard';
      if (dashboard) {
        sessions.element.show();
        sessions.update(model.sessions);
        replies.update(model.replies);
        failures.update(model.failures);
        top.update(model.top);
        anomalies.update(model.anomalies);
      } else {
        sessions.element.hide();
        for (const p of Object.values(panels)) p.update(null);
      }
      progress.update(model.progress);
      detail.update(model.detail);
      help.update(
        model.help === null
          ? null
          : { ...model.help, label: 'Keys and filter language (? or Escape closes)' },
      );
      screen.render();
    }

    function setMessage(text: string, tone: 'normal' | 'good' | 'warn' | 'bad' = 'normal'): void {
      ui = { ...ui, message: { text, tone } };
    }

    function moveSelection(delta: number): void {
      if (model === null || model.orderedIds.length === 0) return;
      const from = Math.max(model.selectedIndex, 0);
      const to = Math.min(model.orderedIds.length - 1, Math.max(0, from + delta));
      ui = { ...ui, selectedId: model.orderedIds[to] ?? null };
    }

    function scrollPanel(id: ScrollPanel, delta: number): void {
      const panel = model?.[id];
      if (panel === undefined) return;
      let next = Math.min(panel.maxScroll, Math.max(0, panel.scroll + delta));
      if (id === 'anomalies' && next >= panel.maxScroll) next = Number.POSITIVE_INFINITY;
      ui = { ...ui, panelScroll: { ...ui.panelScroll, [id]: next } };
      draw();
    }

    function moveAnomalies(delta: number): void {
      if (model === null || ui.detailOpen || ui.helpOpen) return;
      ui = moveAnomalyCursor({ ...ui, focus: 'anomalies' }, model, delta);
      draw();
    }

    function scrollDetail(delta: number): void {
      const d = model?.detail;
      if (d === null || d === undefined) return;
      ui = { ...ui, detailScroll: Math.min(d.maxScroll, Math.max(0, d.scroll + delta)) };
      draw();
    }

    function pageSize(): number {
      if (model === null) return 10;
      if (ui.detailOpen && model.detail !== null) return Math.max(1, model.detail.rect.height - 3);
      const rect = ui.focus === 'sessions' ? model.sessions.rect : model[ui.focus].rect;
      return Math.max(1, rect.height - 3);
    }

    function move(delta: number): void {
      if (ui.helpOpen || model === null || model.view !== 'dashboard') return;
      if (ui.detailOpen) {
        scrollDetail(delta);
        return;
      }
      if (ui.focus === 'sessions') {
        moveSelection(delta);
        draw();
      } else if (ui.focus === 'anomalies') moveAnomalies(delta);
      else scrollPanel(ui.focus, delta);
    }

    async function exportView(): Promise<void> {
      if (model === null || model.view !== 'dashboard') return;
      const sessionsToWrite = model.exportable;
      const name = `smtpscope-export-${exportStamp(new Date())}`;
      const dir = join(process.cwd(), name);
      setMessage(`exporting ${sessionsToWrite.length} session(s)…`);
      draw();
      try {
        const csv = createCsvSink({ dir });
        for (const s of sessionsToWrite) await csv.sessionClosed(s);
        const snap = analyzer.snapshot();
        await csv.close(
          summary ?? { sources: [], stats: snap.stats, warnings: [], wallMs: Date.now() - startedMs },
        );
        const openNote =
          model !== null && model.matching > sessionsToWrite.length ? ' (open sessions not exported)' : '';
        setMessage(`exported ${sessionsToWrite.length} session(s) to ./${name}/${openNote}`, 'good');
      } catch (error) {
        setMessage(`export failed: ${error instanceof Error ? error.message : String(error)}`, 'bad');
      }
      draw();
    }

    let quitting: Promise<number> | null = null;
    let screenGone = false;
    let resolveRun: (code: number) => void = () => {};
    const result = new Promise<number>((resolve) => {
      resolveRun = resolve;
    });

    const control = createQuitControl(
      () => void quit(),
      (code) => {
        clearInterval(timer);
        if (!screenGone) {
          screenGone = true;
          screen.destroy();
        }
        input?.destroy();
        process.stderr.write('smtpscope: left at once; outputs may be incomplete\n');
        process.exit(code);
      },
    );
    const onSignal = (signal: NodeJS.Signals): void =>
      control.request(signal === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');

    function quit(): Promise<number> {
      if (quitting !== null) return quitting;
      quitting = (async () => {
        if (phase === 'reading') {
          setMessage(
            'stopping: closing open sessions and flushing outputs… (q again: leave at once)',
            'warn',
          );
          draw();
          analyzer.stop();
        }
        await finished;
        clearInterval(timer);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        screenGone = true;
        screen.destroy();
        // Our own terminal stream (capture on standard input) would keep the process alive.
        input?.destroy();
        if (runError !== null) process.stderr.write(`smtpscope: ${runError}\n`);
        const code = runError === null ? 0 : 1;
        resolveRun(code);
        return code;
      })();
      return quitting;
    }

    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    screen.key(['q', 'C-c'], () => control.request('key'));
    screen.key(['up', 'k'], () => move(-1));
    screen.key(['down', 'j'], () => move(1));
    screen.key(['pageup'], () => move(-pageSize()));
    screen.key(['pagedown', 'space'], () => move(pageSize()));
    screen.key(['home', 'g'], () => move(-Number.MAX_SAFE_INTEGER));
    screen.key(['end', 'S-g'], () => move(Number.MAX_SAFE_INTEGER));
    screen.key(['enter'], () => {
      if (model === null) return;
      ui = activate(ui, model);
      draw();
    });
    screen.key(['escape'], () => {
      if (ui.helpOpen) ui = { ...ui, helpOpen: false };
      else if (ui.detailOpen) ui = { ...ui, detailOpen: false, detailSessionId: null };
      else ui = { ...ui, message: null };
      draw();
    });
    const cycleFocus = (step: number): void => {
      if (ui.detailOpen || ui.helpOpen) return;
      const i = PANEL_ORDER.indexOf(ui.focus);
      ui = { ...ui, focus: PANEL_ORDER[(i + step + PANEL_ORDER.length) % PANEL_ORDER.length] ?? 'sessions' };
      draw();
    };
    screen.key(['tab'], () => cycleFocus(1));
    screen.key(['S-tab'], () => cycleFocus(-1));
    screen.key(['?'], () => {
      ui = { ...ui, helpOpen: !ui.helpOpen };
      draw();
    });
    screen.key(['s'], () => {
      if (ui.detailOpen || ui.helpOpen) return;
      ui = pressSort(ui);
      draw();
    });
    screen.key(['S-s'], () => {
      if (ui.detailOpen || ui.helpOpen) return;
      ui = reverseSort(ui);
      draw();
    });
    screen.key(['b'], () => {
      // The selection is a session in one view and a failure row in the other: the bounce view starts at its
      // top; back in the sessions, the session of the failure row selected stays selected.
      const session = model === null ? null : (model.rowSessionIds[model.selectedIndex] ?? null);
      ui = { ...ui, bounceOnly: !ui.bounceOnly, sessionsTop: 0, selectedId: ui.bounceOnly ? session : null };
      setMessage(ui.bounceOnly ? 'bounce view: failures and DSNs (b again: sessions)' : 'all sessions');
      draw();
    });
    screen.key(['p'], () => {
      if (!options.live) {
        setMessage('p pauses a live capture; this is a file');
      } else if (ui.paused) {
        frozen = null;
        ui = { ...ui, paused: false };
        setMessage('display resumed');
      } else {
        const frozenItems = window.items();
        frozen = {
          run: currentRun(),
          closed: { items: () => frozenItems, dropped: window.dropped, limit: window.limit },
        };
        ui = { ...ui, paused: true };
        setMessage('display paused (capture goes on); p resumes', 'warn');
      }
      draw();
    });
    screen.key(['e'], () => void exportView());
    screen.key(['/'], () => {
      if (model === null || model.view !== 'dashboard' || ui.detailOpen || ui.helpOpen) return;
      prompt.ask(model.status.rect, ui.filter.source, (text) => {
        if (text !== null) {
          const parsed = parseFilter(text);
          if (parsed.ok) {
            ui = { ...ui, filter: parsed.filter, sessionsTop: 0, selectedId: null, message: null };
            if (parsed.filter.terms.length === 0) setMessage('filter cleared');
          } else setMessage(parsed.error, 'bad');
        }
        draw();
      });
    });
    screen.on('resize', () => draw());

    void finished.then(() => draw());
    const timer = setInterval(draw, options.tickMs ?? 250);
    draw();
    return await result;
  }

  return { sink, joinedSink, run };
}

/**
 * Where keys come from. When the capture arrives on standard input (`tcpdump -w - | smtpscope -`), standard
 * input is the pipe, so keys are read from the controlling terminal instead.
 */
function keyboardInput(): ReadStream | undefined {
  if (process.stdin.isTTY) return undefined;
  try {
    return new ReadStream(openSync('/dev/tty', 'r'));
  } catch {
    return undefined;
  }
}
