/**
 * `--zeek DIR`: smtp.log and conn.log in Zeek's ASCII format (zeek-log.ts, docs/ZEEK.md), one conn.log row per
 * connection and one smtp.log row per transaction, written as sessions close. The files are opened at the first
 * session (the `#open` line is its time), and `#close` is written at the end.
 */

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunSummary, Sink } from '../model/sink.js';
import type { SmtpSession } from '../model/types.js';
import { createOutputFile, type OutputFile } from './output-file.js';
import {
  CONN_LOG,
  connLogRow,
  formatZeekRow,
  SMTP_LOG,
  smtpLogRows,
  type ZeekLogSpec,
  zeekFooter,
  zeekHeader,
  zeekUid,
} from './zeek-log.js';

export interface ZeekSinkOptions {
  readonly dir: string;
  /** Live mode: append to existing logs and flush as sessions close. */
  readonly append?: boolean;
}

export function createZeekSink(options: ZeekSinkOptions): Sink {
  const append = options.append === true;
  let files: { smtp: OutputFile; conn: OutputFile } | null = null;
  let lastMicros = 0;

  const open = (spec: ZeekLogSpec, at: number) =>
    createOutputFile(join(options.dir, `${spec.path}.log`), {
      append,
      header: zeekHeader(spec, at),
      mode: 0o644,
    });

  function filesAt(at: number) {
    if (files === null) {
      mkdirSync(options.dir, { recursive: true });
      files = { smtp: open(SMTP_LOG, at), conn: open(CONN_LOG, at) };
    }
    return files;
  }

  return {
    name: 'zeek',
    async sessionClosed(session: SmtpSession) {
      const f = filesAt(session.flow.firstTsMicros);
      const uid = zeekUid(session);
      lastMicros = Math.max(lastMicros, session.flow.lastTsMicros);
      await f.conn.write(formatZeekRow(connLogRow(session, uid)));
      const rows = smtpLogRows(session, uid);
      if (rows.length > 0) await f.smtp.write(rows.map(formatZeekRow).join(''));
      if (append) {
        await f.conn.flush();
        await f.smtp.flush();
      }
    },
    async close(summary: RunSummary) {
      const end = summary.stats.lastTsMicros ?? lastMicros;
      const f = filesAt(summary.stats.firstTsMicros ?? end);
      await f.conn.write(zeekFooter(end));
      await f.smtp.write(zeekFooter(end));
      await f.conn.commit();
      await f.smtp.commit();
    },
  };
}
