/**
 * Standard output closed by the reader (`smtpscope transcript x.pcap | head -1`): the run ends at once, quietly,
 * with exit code 0, as tcpdump and tshark do. Without this, the first write after the reader left raises EPIPE
 * as an unhandled 'error' event (a stack trace) or as a failed write ("write EPIPE", exit 1).
 */

/** Listens on `stream` for EPIPE and calls `exit(0)`; other errors of the stream are left to other listeners. */
export function exitQuietlyOnClosedStdout(
  stream: NodeJS.WritableStream,
  exit: (code: number) => never = (code) => process.exit(code),
): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') exit(0);
    process.stderr.write(`smtpscope: cannot write to standard output: ${error.message}\n`);
    exit(1);
  });
}
