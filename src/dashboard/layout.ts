/**
 * Where each panel goes for a given terminal size (pure). Two arrangements:
 *
 *  - wide (at least 170 columns and 30 rows): the sessions table on the left above the anomaly log, and a
 *    right-hand column with the reply-code mix, failures by reason and the top domains and servers;
 *  - stacked (80×24, 120×40 and anything below the wide limits): the sessions table across the top half,
 *    then the reply mix, failures and top lists side by side, then the anomaly log.
 *
 * The header takes the first two rows and the status line the last one. Overlays (session detail, help,
 * file progress) are centred, except the session detail, which covers every row but the status line (drawn
 * smaller, the panels behind it showed fragments of their borders beside it). Every rectangle has a non-negative size even on a tiny terminal.
 */

export interface Rect {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

export interface Layout {
  readonly arrangement: 'wide' | 'stacked';
  readonly header: Rect;
  readonly status: Rect;
  readonly sessions: Rect;
  readonly replies: Rect;
  readonly failures: Rect;
  readonly top: Rect;
  readonly anomalies: Rect;
  readonly detail: Rect;
  readonly help: Rect;
  readonly progress: Rect;
}

export const HEADER_ROWS = 2;
export const WIDE_MIN_WIDTH = 170;
export const WIDE_MIN_HEIGHT = 30;

function rect(left: number, top: number, width: number, height: number): Rect {
  return { left, top, width: Math.max(0, width), height: Math.max(0, height) };
}

function centred(width: number, height: number, w: number, h: number): Rect {
  const cw = Math.min(width, w);
  const ch = Math.min(height, h);
  return rect(Math.floor((width - cw) / 2), Math.floor((height - ch) / 2), cw, ch);
}

export function computeLayout(width: number, height: number): Layout {
  const w = Math.max(1, width);
  const h = Math.max(1, height);
  const header = rect(0, 0, w, Math.min(HEADER_ROWS, h));
  const status = rect(0, h - 1, w, 1);
  const top = HEADER_ROWS;
  const mid = Math.max(0, h - HEADER_ROWS - 1);
  const overlays = {
    // The whole screen but the status line: a smaller box left fragments of the panels' borders beside it.
    detail: rect(0, 0, w, Math.max(1, h - 1)),
    help: centred(w, h, 74, 26),
    progress: centred(w, h, 64, 14),
  };
  if (w >= WIDE_MIN_WIDTH && h >= WIDE_MIN_HEIGHT) {
    const rightWidth = Math.min(56, Math.max(38, Math.floor(w * 0.32)));
    const leftWidth = w - rightWidth;
    const anomalyHeight = Math.max(6, Math.floor(mid * 0.25));
    const repliesHeight = Math.max(9, Math.floor(mid * 0.32));
    const failuresHeight = Math.max(8, Math.floor(mid * 0.28));
    return {
      arrangement: 'wide',
      header,
      status,
      sessions: rect(0, top, leftWidth, mid - anomalyHeight),
      anomalies: rect(0, top + mid - anomalyHeight, leftWidth, anomalyHeight),
      replies: rect(leftWidth, top, rightWidth, repliesHeight),
      failures: rect(leftWidth, top + repliesHeight, rightWidth, failuresHeight),
      top: rect(
        leftWidth,
        top + repliesHeight + failuresHeight,
        rightWidth,
        mid - repliesHeight - failuresHeight,
      ),
      ...overlays,
    };
  }
  const sessionsHeight = Math.max(6, Math.floor(mid * 0.5));
  const rest = Math.max(0, mid - sessionsHeight);
  const panelsHeight = Math.ceil(rest * 0.55);
  const anomalyHeight = rest - panelsHeight;
  const third = Math.floor(w / 3);
  const panelsTop = top + sessionsHeight;
  return {
    arrangement: 'stacked',
    header,
    status,
    sessions: rect(0, top, w, Math.min(sessionsHeight, mid)),
    replies: rect(0, panelsTop, third, panelsHeight),
    failures: rect(third, panelsTop, third, panelsHeight),
    top: rect(2 * third, panelsTop, w - 2 * third, panelsHeight),
    anomalies: rect(0, panelsTop + panelsHeight, w, anomalyHeight),
    ...overlays,
  };
}
