/**
 * A bordered panel showing model lines (reply mix, failures, top lists, anomaly log, session detail, help,
 * file progress). It never wraps or scrolls by itself: the view-model hands it exactly the lines that fit.
 */

import type { Widgets } from 'blessed';
import blessed from 'blessed';
import type { Rect } from '../layout.js';
import { escapeTags } from '../sanitize.js';
import { BORDER } from '../theme.js';
import type { StyledLine } from '../view-model.js';
import { place } from './place.js';
import { taggedLine, taggedLines } from './tagged.js';

export interface TextPanelModel {
  readonly rect: Rect;
  readonly label?: string;
  readonly focused?: boolean;
  readonly lines: readonly StyledLine[];
  /** A line drawn in inverse video (the anomaly log's cursor). */
  readonly cursor?: number | null;
}

export interface TextPanel {
  readonly element: Widgets.BoxElement;
  update(model: TextPanelModel | null): void;
}

export function createTextPanel(
  screen: Widgets.Screen,
  options: { readonly overlay?: boolean } = {},
): TextPanel {
  const element = blessed.box({
    parent: screen,
    tags: true,
    wrap: false,
    border: { type: 'line' },
    style: { border: { fg: BORDER.normal }, ...(options.overlay === true ? { bg: 'black' } : {}) },
    hidden: true,
  });
  let lastContent = '';
  let lastLabel = '';
  return {
    element,
    update(model) {
      if (model === null || model.rect.width < 3 || model.rect.height < 3) {
        if (!element.hidden) element.hide();
        return;
      }
      place(element, model.rect);
      const label = model.label === undefined ? '' : ` ${escapeTags(model.label)} `;
      if (label !== lastLabel) {
        element.setLabel(label);
        lastLabel = label;
      }
      element.style.border.fg = model.focused === true ? BORDER.focused : BORDER.normal;
      const cursor = model.cursor ?? null;
      const content =
        cursor === null
          ? taggedLines(model.lines)
          : model.lines
              .map((line, i) => (i === cursor ? `{inverse}${taggedLine(line)}{/inverse}` : taggedLine(line)))
              .join('\n');
      if (content !== lastContent) {
        element.setContent(content);
        lastContent = content;
      }
      if (element.hidden) element.show();
      if (options.overlay === true) element.setFront();
    },
  };
}
