/**
 * The `--where` / `--since` / `--until` step in front of the sinks: only the sessions the selection takes reach
 * them; the count of those it left out is reported at the close.
 */

import type { RunSummary, Sink } from '../model/sink.js';
import type { SmtpSession } from '../model/types.js';
import { type SessionSelection, selects } from './session-selection.js';

export function createSelectionSink(
  selection: SessionSelection,
  sinks: readonly Sink[],
  onNote: (text: string) => void,
  onSelected?: (session: SmtpSession) => void,
): Sink {
  let taken = 0;
  let seen = 0;
  return {
    name: 'selection',
    async sessionClosed(session) {
      seen++;
      if (!selects(selection, session)) return;
      taken++;
      onSelected?.(session);
      for (const sink of sinks) await sink.sessionClosed(session);
    },
    async close(summary: RunSummary) {
      onNote(`selection: ${taken} of ${seen} session(s) matched`);
      for (const sink of sinks) await sink.close(summary);
    },
  };
}
