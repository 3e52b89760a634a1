/**
 * The sessions table: column titles, then one pre-formatted row per visible session, coloured by outcome
 * (the selected row in inverse video); the bounce view's failure and DSN rows are drawn the same way. Mouse: a
 * click selects a row, a click on the selected row opens it, a click on a column title sorts by it (again:
 * reversed), the wheel moves the selection.
 */

import type { Widgets } from 'blessed';
import blessed from 'blessed';
import { escapeTags } from '../sanitize.js';
import { BORDER, TONE_TAG } from '../theme.js';
import type { SessionsModel, SortKey } from '../view-model.js';
import { place } from './place.js';

export interface SessionsTableEvents {
  /** A row was clicked: its index in the whole ordered list. */
  onClickRow(index: number): void;
  /** A column title was clicked: the column in the model's sortSpans. */
  onClickTitle(sort: SortKey): void;
  onWheel(delta: 1 | -1): void;
}

export interface SessionsTable {
  readonly element: Widgets.BoxElement;
  update(model: SessionsModel): void;
}

export function createSessionsTable(screen: Widgets.Screen, events: SessionsTableEvents): SessionsTable {
  const element = blessed.box({
    parent: screen,
    tags: true,
    wrap: false,
    border: { type: 'line' },
    style: { border: { fg: BORDER.normal } },
  });
  let top = 0;
  let rowCount = 0;
  let spans: SessionsModel['sortSpans'] = [];
  let last = '';
  let lastLabel = '';
  element.on('click', (data: Widgets.Events.IMouseEventArg) => {
    const row = data.y - (element.atop as number) - 2; // border, column titles
    if (row >= 0 && row < rowCount) events.onClickRow(top + row);
    if (row === -1) {
      const x = data.x - (element.aleft as number) - 1;
      const span = spans.find((s) => x >= s.from && x < s.to);
      if (span !== undefined) events.onClickTitle(span.sort);
    }
  });
  element.on('wheeldown', () => events.onWheel(1));
  element.on('wheelup', () => events.onWheel(-1));
  return {
    element,
    update(model) {
      place(element, model.rect);
      top = model.top;
      rowCount = model.rows.length;
      spans = model.sortSpans;
      const label = ` ${escapeTags(model.label)} `;
      if (label !== lastLabel) {
        element.setLabel(label);
        lastLabel = label;
      }
      element.style.border.fg = model.focused ? BORDER.focused : BORDER.normal;
      const lines = [`{bold}{underline}${escapeTags(model.columns)}{/underline}{/bold}`];
      for (const row of model.rows) {
        const tag = TONE_TAG[row.tone];
        let text = escapeTags(row.text);
        if (tag !== null) text = `{${tag}}${text}{/${tag}}`;
        lines.push(row.selected ? `{inverse}${text}{/inverse}` : text);
      }
      if (model.rows.length === 0) lines.push(`{gray-fg}${escapeTags(model.empty)}{/gray-fg}`);
      const content = lines.join('\n');
      if (content !== last) {
        element.setContent(content);
        last = content;
      }
    },
  };
}
