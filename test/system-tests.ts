/**
 * Which test files are system tests (vitest project `system`): they start processes, servers, worker
 * threads or real programs (a live capture, tmux, Postfix, ClickHouse, tshark, openssl, the built CLI), or
 * run long (the soak, one-byte reads). Every other test file is a unit test (project `unit`): pure and fast, run by
 * `npm run test:unit`. `npm test` runs both. test/architecture/test-speeds.test.ts checks that no unit test
 * file starts a process, server or worker.
 *
 * An entry ending in `/` is a folder (every test file under it).
 */
export const SYSTEM_TESTS: readonly string[] = [
  // Live capture on the loopback interface, standard input, the soak, Postfix.
  'test/live/',
  // A terminal multiplexer driving the dashboard.
  'test/dashboard/tmux.test.ts',
  // ClickHouse servers.
  'test/cli/clickhouse.test.ts',
  'test/fleet/clickhouse.test.ts',
  'test/fleet/clickhouse-sink-spill.test.ts',
  'test/report/json-clickhouse.test.ts',
  // The built CLI as a child process, worker threads.
  'test/cli/main.test.ts',
  'test/cli/exit-codes.test.ts',
  'test/cli/running-output.test.ts',
  'test/cli/unix-habits.test.ts',
  'test/e2e/dialogue-items.test.ts',
  'test/pipeline/parallel.test.ts',
  // The build and npm pack.
  'test/package.test.ts',
  // Long: reads a capture with every read buffer size down to one byte per read.
  'test/capture/open-file.test.ts',
  // Long: sinks that wait on real timers for each of thousands of sessions (back-pressure).
  'test/pipeline/backpressure.test.ts',
  // Other programs as oracles or peers: tshark, mkfifo, a child node process, a TCP server, openssl.
  'test/decode/captures.test.ts',
  'test/decode/frames.test.ts',
  'test/conformance/follow-check.test.ts',
  'test/capture/pcap-writer.test.ts',
  'test/capture/privileges.test.ts',
  'test/capture/live-source.test.ts',
  'test/tls/openssl-keyupdate.test.ts',
  // man and zsh checking the manual page and the completion scripts.
  'test/cli/manual-completion.test.ts',
  // The built CLI against tshark's decryption of the same capture.
  'test/e2e/tls-decryption.test.ts',
  // tcpdump and tshark as oracles for the -f filter and the selected packets.
  'test/query/bpf.test.ts',
  'test/query/selection.test.ts',
  // Headless Chromium loading the HTML report.
  'test/text/html-chromium.test.ts',
];

/** The vitest include globs of the system project. */
export const SYSTEM_GLOBS: readonly string[] = SYSTEM_TESTS.map((p) =>
  p.endsWith('/') ? `${p}**/*.test.ts` : p,
);

/** Whether a test file (path relative to the repository, `/`-separated) is a system test. */
export function isSystemTest(file: string): boolean {
  return SYSTEM_TESTS.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p));
}
