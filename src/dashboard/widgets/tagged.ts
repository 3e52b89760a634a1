/**
 * Model lines to blessed tag markup. The only place text meets tag syntax: every segment's text has its
 * `{`/`}` escaped, then the tone's tag wraps it.
 */

import { escapeTags } from '../sanitize.js';
import { TONE_TAG } from '../theme.js';
import type { Segment, StyledLine } from '../view-model.js';

export function taggedSegment(segment: Segment): string {
  const text = escapeTags(segment.text);
  const tag = TONE_TAG[segment.tone];
  return tag === null || text === '' ? text : `{${tag}}${text}{/${tag}}`;
}

export function taggedLine(line: StyledLine): string {
  return line.map(taggedSegment).join('');
}

export function taggedLines(lines: readonly StyledLine[]): string {
  return lines.map(taggedLine).join('\n');
}
