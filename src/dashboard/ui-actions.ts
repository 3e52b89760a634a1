/**
 * What the keys and clicks that need more than a flag do to the interface state (pure; app.ts binds them):
 * the sort (`s` steps through each column and its reverse, a click on a column title sorts by it), Enter (opens
 * the selected row's session, or jumps from the anomaly under the cursor to its session) and moving the anomaly
 * log's cursor (keys, wheel, clicks).
 */

import { type DashboardModel, SORT_ORDER, type SortKey, type UiState } from './view-model.js';

/**
 * `s`: a second press on the same column reverses it, a third goes to the next column in its natural
 * direction (time ▲, time ▼, server ▲, server ▼, failures ▼, failures ▲, size ▼, size ▲, time ▲ …).
 */
export function pressSort(ui: UiState): UiState {
  if (!ui.sortReverse) return { ...ui, sortReverse: true };
  const next = SORT_ORDER[(SORT_ORDER.indexOf(ui.sort) + 1) % SORT_ORDER.length] ?? 'time';
  return { ...ui, sort: next, sortReverse: false };
}

/** `S`: reverse the current sort. */
export function reverseSort(ui: UiState): UiState {
  return { ...ui, sortReverse: !ui.sortReverse };
}

/** A click on a column title: sort by its column, or reverse when it is already the sort column. */
export function sortBy(ui: UiState, sort: SortKey): UiState {
  return sort === ui.sort ? reverseSort(ui) : { ...ui, sort, sortReverse: false };
}

/**
 * Enter. With the anomaly log focused: select the anomaly's session in the table (in the bounce view, its
 * first row when it has one) and open its detail. Otherwise: open the detail of the selected row's session
 * (a session, or the session of a failure or DSN row).
 */
export function activate(ui: UiState, model: DashboardModel): UiState {
  if (ui.helpOpen || ui.detailOpen || model.view !== 'dashboard') return ui;
  const open = { focus: 'sessions' as const, detailOpen: true, detailScroll: 0 };
  if (ui.focus === 'anomalies') {
    const target = model.anomalyCursor;
    if (target === null) return ui;
    const row = model.rowSessionIds.indexOf(target.sessionId);
    return {
      ...ui,
      ...open,
      detailSessionId: target.sessionId,
      selectedId: row < 0 ? ui.selectedId : (model.orderedIds[row] ?? null),
    };
  }
  if (model.selectedIndex < 0) return ui;
  return {
    ...ui,
    ...open,
    detailSessionId: model.rowSessionIds[model.selectedIndex] ?? null,
    selectedId: model.orderedIds[model.selectedIndex] ?? null,
  };
}

/**
 * Moves the anomaly log's cursor by `delta` lines; at the newest entry it follows the log again (new anomalies
 * of a live capture keep it at the end).
 */
export function moveAnomalyCursor(ui: UiState, model: DashboardModel, delta: number): UiState {
  const at = model.anomalyCursor;
  const count = model.anomalies.maxScroll + model.anomalies.lines.length;
  if (at === null || count === 0) return ui;
  const next = Math.min(count - 1, Math.max(0, at.index + delta));
  const follow = next >= count - 1;
  return {
    ...ui,
    anomalyCursor: follow ? Number.POSITIVE_INFINITY : next,
    panelScroll: {
      ...ui.panelScroll,
      anomalies: follow ? Number.POSITIVE_INFINITY : model.anomalies.scroll,
    },
  };
}

/**
 * A click on line `line` (0-based, of the lines shown) of the anomaly log: the log takes the focus and its cursor
 * goes to that entry; a click on the entry already under the cursor opens its session, as Enter does.
 */
export function clickAnomaly(ui: UiState, model: DashboardModel, line: number): UiState {
  const panel = model.anomalies;
  const at = model.anomalyCursor;
  if (at === null || line < 0 || line >= panel.lines.length) return { ...ui, focus: 'anomalies' };
  const index = panel.scroll + line;
  if (ui.focus === 'anomalies' && panel.cursor !== null && index === at.index) return activate(ui, model);
  const count = panel.maxScroll + panel.lines.length;
  const follow = index >= count - 1;
  return {
    ...ui,
    focus: 'anomalies',
    anomalyCursor: follow ? Number.POSITIVE_INFINITY : index,
    panelScroll: { ...ui.panelScroll, anomalies: follow ? Number.POSITIVE_INFINITY : panel.scroll },
  };
}
