/** Moves a blessed element to a layout rectangle (only when it changed, so resizes cost nothing extra). */

import type { Widgets } from 'blessed';
import type { Rect } from '../layout.js';

export function place(element: Widgets.BoxElement, rect: Rect): void {
  if (element.left !== rect.left) element.left = rect.left;
  if (element.top !== rect.top) element.top = rect.top;
  if (element.width !== rect.width) element.width = rect.width;
  if (element.height !== rect.height) element.height = rect.height;
}
