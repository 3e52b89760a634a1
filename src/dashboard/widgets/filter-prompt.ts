/**
 * The `/` prompt: a one-line text box over the status line. Enter gives the text, Escape gives null.
 * Ctrl-U clears the line. While it reads, the screen's own keys are held back by blessed (grabKeys), except Ctrl-C.
 */

import type { Widgets } from 'blessed';
import blessed from 'blessed';
import type { Rect } from '../layout.js';

export interface FilterPrompt {
  readonly active: boolean;
  ask(rect: Rect, initial: string, done: (value: string | null) => void): void;
}

export function createFilterPrompt(screen: Widgets.Screen): FilterPrompt {
  const prefix = blessed.box({
    parent: screen,
    content: '/',
    width: 1,
    height: 1,
    hidden: true,
    style: { fg: 'cyan', bold: true },
  });
  const input = blessed.textbox({
    parent: screen,
    height: 1,
    hidden: true,
    inputOnFocus: false,
    style: { fg: 'white', bg: 'blue' },
  });
  input.key('C-u', () => {
    input.setValue('');
    screen.render();
  });
  let active = false;
  return {
    get active() {
      return active;
    },
    ask(rect, initial, done) {
      active = true;
      prefix.left = rect.left;
      prefix.top = rect.top;
      input.left = rect.left + 1;
      input.top = rect.top;
      input.width = Math.max(1, rect.width - 1);
      prefix.show();
      input.show();
      prefix.setFront();
      input.setFront();
      input.setValue(initial);
      input.focus();
      screen.render();
      input.readInput((_error: unknown, value?: string | null) => {
        active = false;
        prefix.hide();
        input.hide();
        done(typeof value === 'string' ? value : null);
      });
    },
  };
}
