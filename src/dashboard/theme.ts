/** Colours of the dashboard, in one place: tones used by the view-model map to blessed tags here. */

import type { Tone } from './view-model.js';

/** The blessed tag that opens each tone (null: default colour). */
export const TONE_TAG: Readonly<Record<Tone, string | null>> = {
  normal: null,
  dim: 'gray-fg',
  good: 'green-fg',
  warn: 'yellow-fg',
  bad: 'red-fg',
  accent: 'cyan-fg',
  heading: 'bold',
};

export const BORDER = { focused: 'cyan', normal: 'gray' } as const;
