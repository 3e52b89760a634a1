/**
 * `--maillog FILE` (repeatable): reads the logs into one index and puts the join step in front of the sinks.
 * Capture files: every log is read whole first (gzip too), then sessions are joined as they close. Live capture
 * or a stream input: each log is followed from its current end (rotation included) and sessions wait
 * {@link LIVE_HOLD_MS} for their delivery lines before the join.
 */

import { stat } from 'node:fs/promises';
import type { Sink } from '../model/sink.js';
import { createJoinSink, type JoinSink } from './join-sink.js';
import { followLogFile, type LogFollower, readLogFile } from './log-file.js';
import { createLogIndex, type LogIndex } from './log-index.js';

/** Live: how long a closed session waits for the MTA's log lines (wall time). */
export const LIVE_HOLD_MS = 10_000;

export interface MaillogInput {
  readonly index: LogIndex;
  readonly followers: readonly LogFollower[];
}

/** Reads (files) or starts following (live) the logs; a missing file is an error, as for a capture file. */
export async function openMaillogs(paths: readonly string[], live: boolean): Promise<MaillogInput> {
  let year = new Date().getFullYear();
  for (const path of paths) {
    const s = await stat(path); // throws ENOENT with the path, reported like any input error
    year = s.mtime.getFullYear();
  }
  // Yearless syslog stamps are made in the year of the last log's change; the join moves them to the capture's.
  const index = createLogIndex({ referenceYear: year, utcOffsetMinutes: null });
  if (!live) {
    for (const path of paths) await readLogFile(path, index);
    return { index, followers: [] };
  }
  const followers = paths.map((path) => followLogFile(path, index));
  for (const f of followers) await f.poll();
  return { index, followers };
}

/** The join sink in front of `sinks`. */
export function maillogJoinSink(
  input: MaillogInput,
  sinks: readonly Sink[],
  live: boolean,
  onNote: (text: string) => void,
): JoinSink {
  return createJoinSink({
    index: input.index,
    sinks,
    followers: input.followers,
    holdMs: live ? LIVE_HOLD_MS : 0,
    onNote,
  });
}
