/**
 * smtpscope as a library: what `import ... from 'smtpscope'` gives. The analyzer turns captures (files or
 * any packet source) into SMTP sessions and hands each one, as it closes, to the sinks; the sinks below are
 * the ones the CLI uses; the model types describe a session. Everything else under src/ is internal and may
 * change without notice.
 */

// Packet sources: capture files (pcap, pcapng, gzip) and streams.
export { type OpenSourceOptions, openFileSource, openStreamSource } from './capture/open-file.js';
export type { PacketSource, PacketView, SourceStats, SourceWarning } from './capture/types.js';
export { CaptureFormatError } from './capture/types.js';
export {
  type ClickHouseSink,
  type ClickHouseSinkOptions,
  createClickHouseSink,
} from './fleet/clickhouse-sink.js';
export type { MessageBodyListener, RunStats, RunSummary, Sink, Snapshot } from './model/sink.js';
// The session model.
export type * from './model/types.js';
// The analyzer: sources in, sessions out to sinks.
export {
  type Analyzer,
  type AnalyzerConfig,
  analyzeToArray,
  createAnalyzer,
  type InputSpec,
} from './pipeline/analyzer.js';
export { createParallelAnalyzer, type ParallelOptions } from './pipeline/parallel.js';
// The sinks: CSV, NDJSON, extracted messages, ClickHouse (above), Zeek-format logs, the HTML report.
export { type CsvSinkOptions, createCsvSink } from './report/csv-sink.js';
export { createExtractSink, type ExtractSink, type ExtractSinkOptions } from './report/extract-sink.js';
export { createJsonSink, type JsonSinkOptions, toNdjsonLine } from './report/json-sink.js';
export { createZeekSink, type ZeekSinkOptions } from './report/zeek-sink.js';
export { createHtmlSink, type HtmlSinkOptions } from './text/html-sink.js';
