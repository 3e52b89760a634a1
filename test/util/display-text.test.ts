import { describe, expect, it } from 'vitest';
import { safeText, table } from '../../src/util/display-text.js';

describe('safeText', () => {
  it.each([
    ['plain text', 'plain text'],
    ['tab\there', 'tab\\x09here'],
    ['\u001b[31mred', '\\x1B[31mred'],
    ['bell\u0007', 'bell\\x07'],
    ['del\u007f', 'del\\x7F'],
    ['csi\u009b', 'csi\\x9B'],
    ['rlo\u202etxt', 'rlo\\u{202E}txt'],
    ['ls\u2028', 'ls\\u{2028}'],
    ['café ✓', 'café ✓'],
  ])('escapes %j as %j', (input, output) => {
    expect(safeText(input)).toBe(output);
  });
});

describe('table', () => {
  it('aligns columns by terminal width, two spaces apart, the last column unpadded, no trailing spaces', () => {
    expect(
      table(
        [
          ['KEY', 'N', ''],
          ['日本', '12', 'x'],
          ['a', '3', ''],
        ],
        '> ',
      ),
    ).toEqual(['> KEY   N', '> 日本  12  x', '> a     3']);
  });
});
