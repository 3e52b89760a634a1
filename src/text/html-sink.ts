/**
 * `--html FILE`: the visual report (docs/REPORT.md) as a sink. Sessions are folded into the bounded collector
 * (html-report-data.ts) as they close; the page is rendered and written once, at the end, atomically (a
 * temporary file renamed into place: report/output-file.ts), or to standard output for `-`.
 */

import type { RunSummary, Sink } from '../model/sink.js';
import { createOutputFile } from '../report/output-file.js';
import { renderHtmlPage } from './html-page.js';
import { createHtmlReportCollector, type HtmlReportOptions } from './html-report-data.js';

export interface HtmlSinkOptions extends HtmlReportOptions {
  /** The report's path, or `-` for standard output. */
  readonly path: string;
  readonly stdout?: NodeJS.WritableStream;
}

export function createHtmlSink(options: HtmlSinkOptions): Sink {
  const collector = createHtmlReportCollector(options);
  return {
    name: 'html',
    // The sessions table shows subjects, and plain filter words search them.
    readsMessages: true,
    sessionClosed(session) {
      collector.add(session);
    },
    async close(summary: RunSummary) {
      const out = createOutputFile(options.path, {
        append: false,
        header: '',
        ...(options.stdout === undefined ? {} : { stdout: options.stdout }),
      });
      try {
        await out.write(renderHtmlPage(collector.report(summary)));
        await out.commit();
      } catch (error) {
        await out.abort();
        throw error;
      }
    },
  };
}
