/** A borderless strip of model lines: the header (two lines) and the status line. */

import type { Widgets } from 'blessed';
import blessed from 'blessed';
import type { Rect } from '../layout.js';
import type { StyledLine } from '../view-model.js';
import { place } from './place.js';
import { taggedLines } from './tagged.js';

export interface TextLine {
  readonly element: Widgets.BoxElement;
  update(rect: Rect, lines: readonly StyledLine[]): void;
}

export function createTextLine(screen: Widgets.Screen, style: { readonly bg?: string } = {}): TextLine {
  const element = blessed.box({
    parent: screen,
    tags: true,
    wrap: false,
    style: style.bg === undefined ? {} : { bg: style.bg },
  });
  let last = '';
  return {
    element,
    update(rect, lines) {
      place(element, rect);
      const content = taggedLines(lines);
      if (content !== last) {
        element.setContent(content);
        last = content;
      }
    },
  };
}
