import { describe, expect, it } from 'vitest';
import { safeText } from '../../src/report/safe-text.js';

describe('safe-text', () => {
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
