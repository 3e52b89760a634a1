import { PassThrough } from 'node:stream';
import blessed from 'blessed';
import { describe, expect, it } from 'vitest';
import { escapeTags } from '../../src/dashboard/sanitize.js';
import { taggedLine } from '../../src/dashboard/widgets/tagged.js';
import { cellText, clip, displayWidth, fitCell, wrap } from '../../src/util/display-text.js';

/** Parts of blessed the type definitions leave out. */
const b = blessed as unknown as {
  unicode: { strWidth(s: string): number };
  helpers: { parseTags(s: string, screen: unknown): string };
  escape(s: string): string;
};

const HOSTILE = 'evil\x1b[2J\x1b[H\x1b]0;pwned\x07\r\n\x9b31m\u202e{red-fg}boom{/red-fg}{bold}\u0301';

describe('sanitize', () => {
  it('turns escape sequences, C0 and C1 controls and bidi overrides into visible text', () => {
    const out = cellText(HOSTILE);
    expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(out).toContain('\\x1B[2J');
    expect(out).toContain('\\x9B31m');
    expect(out).toContain('\\u{202E}');
  });

  it('escapes combining and zero-width characters and emoji so every character takes the columns counted', () => {
    expect(cellText('e\u0301\u200b')).toBe('e\\u{0301}\\u{200B}');
    expect(cellText('ok 😀')).toBe('ok \\u{1F600}');
  });

  it('fits text to an exact width in columns, marking the cut with an ellipsis', () => {
    expect(fitCell('abcdef', 4)).toBe('abc…');
    expect(fitCell('ab', 4)).toBe('ab  ');
    expect(fitCell('ab', 4, 'right')).toBe('  ab');
    expect(fitCell('漢字漢字', 5)).toBe('漢字…');
    expect(displayWidth(fitCell('漢字漢字', 5))).toBe(5);
    expect(displayWidth(fitCell(HOSTILE.repeat(50), 30))).toBe(30);
    expect(clip('abc', 0)).toBe('');
  });

  it('measures widths as blessed does for the characters it keeps', () => {
    for (const text of ['plain ascii', 'café', '漢字かな', 'ｆｕｌｌ', '😀 ok', 'Ærøskøbing']) {
      expect(displayWidth(cellText(text))).toBe(b.unicode.strWidth(cellText(text)));
    }
  });

  it('escapes braces exactly like blessed.escape', () => {
    const text = '{red-fg}x{/red-fg} {open} }{';
    expect(escapeTags(text)).toBe(b.escape(text));
  });

  it('wraps long text into lines no wider than the pane, preferring spaces', () => {
    const lines = wrap('alpha beta gamma delta epsilon', 12);
    expect(lines).toEqual(['alpha beta', 'gamma delta', 'epsilon']);
    for (const line of wrap('x'.repeat(100), 7)) expect(displayWidth(line)).toBeLessThanOrEqual(7);
  });

  it('cannot move the cursor, change colours or overflow a cell once drawn by blessed', () => {
    const screen = blessed.screen({
      input: new PassThrough(),
      output: new PassThrough(),
      terminal: 'xterm-256color',
    });
    const cell = fitCell(HOSTILE.repeat(3), 40);
    const drawn = b.helpers.parseTags(taggedLine([{ text: cell, tone: 'normal' }]), screen);
    expect(drawn).not.toContain('\x1b');
    expect(drawn).not.toContain('\x9b');
    expect(b.unicode.strWidth(drawn)).toBe(40);
    // With a tone, the only escapes are the tone's own opening and closing SGR sequences.
    const red = b.helpers.parseTags(taggedLine([{ text: cell, tone: 'good' }]), screen);
    const sgr = red.match(/\x1b\[[0-9;]*m/g) ?? [];
    expect(sgr).toHaveLength(2);
    expect(red.replace(/\x1b\[[0-9;]*m/g, '')).toBe(drawn);
    screen.destroy();
  });
});
